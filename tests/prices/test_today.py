"""Today so far: the worker's provisional price of the current UTC day, computed from the
simulated chain as its tip moves, stored apart from the series, served by /api/prices/today and
replaced by the final row."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client

from prices import selectors, today
from prices.ingestion import PriceIngestion
from prices.today import TodayTracker
from prices.validity import ValidityRules
from simulators.chain import SimulatedChain, SimulatorServer
from tests.prices.upstreams import MempoolStub
from tests.support import capture_json_logs, eventually, free_port


@pytest.fixture
def server(serve_recent: Callable[..., SimulatorServer]) -> SimulatorServer:
    """Yesterday and the day before, then blocks of today as far as the tests move the tip."""
    return serve_recent(days=2, seed=21, txs_per_block=30)


@pytest.fixture
def chain(server: SimulatorServer, settings) -> Iterator[SimulatedChain]:
    settings.ELECTRS_URL = server.url
    settings.PRICE_SOURCE = ("esplora",)
    end = server.chain.tip
    yield server.chain
    server.chain.tip = end


def todays_heights(chain: SimulatedChain, count: int) -> list[int]:
    """The first `count` heights of today, the tip moved to the last (the chain generates them
    on demand)."""
    first = chain.last_day_end + 1
    heights = list(range(first, first + count))
    chain.tip = heights[-1]
    assert {datetime.fromtimestamp(chain.block_time(h), UTC).date() for h in heights} == {
        selectors.utc_today()
    }
    return heights


def test_the_day_is_shown_from_the_minimum_block_count_and_follows_the_tip(
    client: Client, store_file: Path, chain: SimulatedChain, settings
) -> None:
    settings.PRICE_TODAY_MIN_BLOCKS = 12
    heights = todays_heights(chain, 40)
    tracker = TodayTracker()

    chain.tip = heights[4]
    forming = tracker.update(selectors.utc_today())
    assert (forming.date, forming.block_count, forming.price) == (selectors.utc_today(), 5, None)
    assert (forming.block_first, forming.block_last) == (heights[0], heights[4])
    answer = client.get("/api/prices/today")
    assert answer.status_code == 404
    assert "5 block(s) of" in answer.json()["detail"] and "shown from 12" in answer.json()["detail"]
    assert tracker.update(selectors.utc_today()) is None  # no new block: nothing to save

    chain.tip = heights[35]
    record = tracker.update(selectors.utc_today())
    assert record.block_count == 36 and record.is_valid
    assert record.price == pytest.approx(chain.price_at(heights[18]), rel=0.003)
    assert record.last_block_time == datetime.fromtimestamp(
        chain.block_time(heights[35]), UTC
    ).replace(tzinfo=None)
    body = client.get("/api/prices/today").json()
    assert body["price"] == record.price and body["block_count"] == 36
    assert body["provisional"] is True and body["date"] == selectors.utc_today().isoformat()

    chain.tip = heights[39]
    moved = tracker.update(selectors.utc_today())
    assert moved.block_count == 40 and moved.price != record.price
    assert client.get("/api/prices/today").json()["block_count"] == 40


def test_the_output_minimum_is_taken_pro_rata(store_file: Path, chain: SimulatedChain) -> None:
    chain.tip = todays_heights(chain, 24)[-1]
    rules = ValidityRules(min_usd=10_000, max_usd=500_000, min_outputs=1_000_000, max_deviation=0.2)
    record = TodayTracker(rules=rules).update(selectors.utc_today(), min_blocks=12)
    assert record.block_count == 24 and not record.is_valid
    assert record.invalid_reason == f"{record.output_count} outputs, fewer than 166667"


def test_the_final_row_replaces_the_provisional_one(
    store_file: Path, chain: SimulatedChain, mempool: MempoolStub
) -> None:
    yesterday = selectors.utc_today() - timedelta(days=1)
    tracker = TodayTracker()
    tracker.update(yesterday, min_blocks=12)  # as it stood before midnight
    assert selectors.provisional_record().block_count == 144
    PriceIngestion(workers=1).compute_and_save(yesterday)
    assert selectors.provisional_record() is None
    assert selectors.day_record(yesterday).is_valid
    tracker.update(yesterday, min_blocks=12)  # a late look at a day now in the series
    assert selectors.provisional_record() is None


def test_the_worker_loop_follows_new_blocks(
    store_file: Path, chain: SimulatedChain, settings
) -> None:
    settings.PRICE_TODAY_MIN_BLOCKS = 3
    settings.PRICE_TODAY_POLL_SECONDS = 0.05
    heights = todays_heights(chain, 8)
    chain.tip = heights[3]

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(today.loop(stop))
        try:
            await eventually(lambda: _blocks() == 4, timeout=30)
            chain.tip = heights[7]
            await eventually(lambda: _blocks() == 8, timeout=30)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)

    asyncio.run(scenario())
    assert selectors.provisional_record().price is not None


def _blocks() -> int | None:
    record = selectors.provisional_record()
    return None if record is None else record.block_count


def test_a_failing_source_is_logged_and_the_loop_goes_on(store_file: Path, settings) -> None:
    settings.ELECTRS_URL = f"http://127.0.0.1:{free_port()}"
    settings.PRICE_SOURCE = ("esplora",)
    settings.PRICE_TODAY_POLL_SECONDS = 0.05

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(today.loop(stop))
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.wait_for(task, 30)

    with capture_json_logs() as logs:
        asyncio.run(scenario())
    failures = logs.events("price_today_failed")
    assert len(failures) >= 2 and "esplora" in failures[0]["reason"]
    assert selectors.provisional_record() is None


def test_a_restarted_worker_keeps_the_stored_row_until_its_source_catches_up(
    client: Client, store_file: Path, chain: SimulatedChain, settings
) -> None:
    """A worker started again whose source shows fewer of today's blocks than the stored row
    (a restarted or lagging node) does not take today's price away: the row stays until the
    source reaches its blocks, then follows the source again."""
    settings.PRICE_TODAY_MIN_BLOCKS = 12
    heights = todays_heights(chain, 30)
    chain.tip = heights[19]
    stored = TodayTracker().update(selectors.utc_today())
    assert stored.block_count == 20 and stored.price is not None

    restarted = TodayTracker()
    chain.tip = heights[2]
    with capture_json_logs() as logs:
        assert restarted.update(selectors.utc_today()) is None
        assert restarted.update(selectors.utc_today()) is None
    [kept] = logs.events("price_today_kept")
    assert (kept["stored_blocks"], kept["source_blocks"]) == (20, 3)
    assert client.get("/api/prices/today").json()["block_count"] == 20

    chain.tip = heights[19]
    assert restarted.update(selectors.utc_today()).block_count == 20
    chain.tip = heights[29]
    assert restarted.update(selectors.utc_today()).block_count == 30
    assert client.get("/api/prices/today").json()["block_count"] == 30
