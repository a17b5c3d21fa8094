"""The worker's sampler: one history row per check per round, pruning, stopping on request."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from core.worker import loops_from_paths
from health.models import CheckSample
from health.monitor import HealthMonitor
from health.sampler import loop, sample_once
from tests.health.upstreams import Upstreams


@pytest.mark.django_db(transaction=True)
async def test_a_round_records_every_check(stack: Upstreams, async_orm) -> None:
    stack.modes["electrs"] = "500"
    results = await sample_once(HealthMonitor())
    rows = {row.check_name: row async for row in CheckSample.objects.all()}
    assert (
        set(rows)
        == set(results)
        == {
            "database",
            "app_database",
            "electrs",
            "mempool_backend",
            "bitcoin_rpc",
        }
    )
    assert (rows["electrs"].status, rows["electrs"].error) == (
        "error",
        "electrs: /blocks/tip/height: HTTP 500",
    )
    assert rows["mempool_backend"].status == "ok" and rows["mempool_backend"].error == ""
    assert rows["electrs"].checked_at == results["electrs"].checked_at
    assert rows["database"].latency_ms == results["database"].latency_ms


@pytest.mark.django_db(transaction=True)
async def test_a_round_prunes_samples_past_the_retention(stack, settings, async_orm) -> None:
    settings.HEALTH_RETENTION_DAYS = 30
    now = timezone.now()
    for age in (timedelta(days=31), timedelta(days=29)):
        await CheckSample.objects.acreate(
            check_name="electrs", status="ok", latency_ms=2.0, checked_at=now - age
        )
    await sample_once(HealthMonitor())
    oldest = await CheckSample.objects.order_by("checked_at").afirst()
    assert oldest.checked_at == now - timedelta(days=29)
    assert await CheckSample.objects.acount() == 1 + 5


@pytest.mark.django_db(transaction=True)
async def test_the_loop_samples_every_interval_and_stops(stack, settings, async_orm) -> None:
    settings.HEALTH_SAMPLE_SECONDS = 0.05
    stop = asyncio.Event()
    task = asyncio.create_task(loop(stop))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if await CheckSample.objects.filter(check_name="electrs").acount() >= 2:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 60)
    assert await CheckSample.objects.filter(check_name="electrs").acount() >= 2


async def test_a_database_failure_is_logged_not_raised(stack, json_logs) -> None:
    # No database access in this test: storing fails.
    results = await sample_once(HealthMonitor())
    assert results["electrs"].ok
    assert json_logs.events("health_samples_not_stored")


def test_the_worker_runs_the_sampler() -> None:
    names = [entry.name for entry in loops_from_paths(django_settings.WORKER_LOOPS)]
    assert "sampler" in names
