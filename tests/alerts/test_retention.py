"""Alert retention: the worker deletes alerts older than ALERTS_RETENTION_DAYS (found: alerts were
never deleted)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.utils import timezone

from alerts import retention, store
from alerts.models import WhaleAlert
from core.worker import loops_from_paths
from tests.alerts.helpers import stored_alert

uses_db = pytest.mark.usefixtures("transactional_db")


def alerts_aged(days: list[float]) -> list[WhaleAlert]:
    rows = [stored_alert() for _ in days]
    for row, age in zip(rows, days, strict=True):
        WhaleAlert.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=age))
    return rows


def kept_ids() -> list[int]:
    return list(WhaleAlert.objects.order_by("id").values_list("id", flat=True))


@uses_db
def test_prune_deletes_only_the_older_alerts_a_batch_at_a_time():
    rows = alerts_aged([120, 100, 95, 10, 0])
    deleted = store.prune_alerts(timezone.now() - timedelta(days=90), batch=2)
    assert deleted == 3
    assert kept_ids() == [rows[3].id, rows[4].id]
    assert store.prune_alerts(timezone.now() - timedelta(days=90)) == 0


@uses_db
async def test_the_loop_prunes_at_start_and_stops_when_asked(settings, json_logs):
    settings.ALERTS_RETENTION_DAYS = 30
    rows = await database_sync_to_async(alerts_aged)([31, 29])
    stop = asyncio.Event()
    task = asyncio.create_task(retention.loop(stop))
    while not json_logs.events("alerts_pruned"):
        await asyncio.sleep(0.02)
    assert json_logs.events("alerts_pruned")[0]["deleted"] == 1
    assert await database_sync_to_async(kept_ids)() == [rows[1].id]
    stop.set()
    await asyncio.wait_for(task, 30)


@uses_db
async def test_zero_keeps_alerts_forever(settings, json_logs):
    settings.ALERTS_RETENTION_DAYS = 0
    await database_sync_to_async(alerts_aged)([3650])
    stop = asyncio.Event()
    task = asyncio.create_task(retention.loop(stop))
    while not json_logs.events("alert_retention_off"):
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 30)
    assert len(await database_sync_to_async(kept_ids)()) == 1


async def test_a_database_failure_is_logged_not_raised(json_logs):
    # No database access in this test: the delete fails.
    assert await retention.prune_once(90) == 0
    assert json_logs.events("alerts_not_pruned")[0]["error"].startswith("RuntimeError: Database")


def test_the_worker_runs_the_retention_loop():
    names = [entry.name for entry in loops_from_paths(django_settings.WORKER_LOOPS)]
    assert "retention" in names
