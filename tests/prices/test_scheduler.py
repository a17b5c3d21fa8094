"""The worker's price loop: migrates at start, computes the missing days, runs queued backfills,
stops promptly."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from prices import selectors
from prices.backfills import queue_backfill
from prices.models import BackfillRequest
from prices.scheduler import loop
from simulators.chain import SimulatorServer
from tests.prices.upstreams import MempoolStub

pytestmark = pytest.mark.django_db(transaction=True)


async def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


async def test_the_loop_updates_then_runs_queued_backfills(
    store_file: Path, chain: SimulatorServer, mempool: MempoolStub, settings, json_logs
) -> None:
    settings.PRICE_WINDOW_DAYS, settings.PRICE_UPDATE_SECONDS = 1, 3600
    day = chain.chain.days[0]
    request = await asyncio.to_thread(queue_backfill, day, day)
    await asyncio.to_thread(
        BackfillRequest.objects.filter(pk=request.pk).update, status=BackfillRequest.Status.RUNNING
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop(stop))

    def finished() -> bool:
        done = BackfillRequest.objects.get(pk=request.pk).status == BackfillRequest.Status.DONE
        return done and selectors.missing_price_dates(1) == []

    await wait_until(finished, timeout=90)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert selectors.day_record(day).is_valid
    yesterday = selectors.utc_today() - timedelta(days=1)
    assert selectors.day_record(yesterday).is_valid
    [started] = json_logs.events("price_scheduler_started")
    assert started["schema_applied"] == [1, 2] and started["backfills_requeued"] == 1
    assert json_logs.events("prices_updated")
    assert json_logs.events("backfill_finished")[0]["task"] == "backfill"


async def test_a_failing_update_does_not_stop_the_loop(
    store_file: Path, settings, json_logs
) -> None:
    settings.PRICE_UPDATE_SECONDS = 3600
    settings.PRICE_SOURCE = ("nonexistent",)
    stop = asyncio.Event()
    task = asyncio.create_task(loop(stop))
    await wait_until(lambda: json_logs.events("price_update_failed"), timeout=30)
    await asyncio.sleep(0.3)
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    [failure] = json_logs.events("price_update_failed")
    assert "unknown block source" in failure["exception"]
