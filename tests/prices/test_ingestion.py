"""Computing days from the simulated chain and saving them, exchange prices from a loopback
mempool backend, into a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from prices import selectors
from prices.ingestion import (
    DayOutcome,
    Outcome,
    PriceIngestion,
    RunSummary,
    Stopped,
    update_prices,
)
from prices.store import compare_prices, open_writer
from prices.validity import ValidityRules
from simulators.chain import SimulatedChain, SimulatorServer
from tests.prices.builders import day_record, invalid
from tests.prices.upstreams import MempoolStub, historical_price


def ingestion(**kwargs) -> PriceIngestion:
    return PriceIngestion(workers=1, **kwargs)


def heights_of(chain: SimulatedChain, day: date) -> list[int]:
    return [
        h
        for h in range(chain.params.base_height, chain.tip + 1)
        if datetime.fromtimestamp(chain.block_time(h), UTC).date() == day
    ]


def test_a_day_is_computed_from_every_block_of_that_day(
    store_file: Path, chain: SimulatorServer, mempool: MempoolStub
) -> None:
    day = chain.chain.days[0]
    outcome = ingestion().compute_and_save(day)
    assert outcome.status is Outcome.VALID
    record = selectors.day_record(day)
    heights = heights_of(chain.chain, day)
    assert len(heights) == 144
    assert (record.block_first, record.block_last) == (heights[0], heights[-1])
    blocks = selectors.blocks_of_day(day)
    assert [b.height for b in blocks] == heights
    assert {b.block_time.date() for b in blocks} == {day}
    assert sum(b.price_points for b in blocks) == record.price_point_count
    assert record.utxoracle_price == pytest.approx(chain.chain.day_price(day), rel=0.01)
    assert record.utxoracle_price == outcome.price
    assert record.exchange_price == historical_price(day)
    assert (record.price_difference, record.avg_pct_diff) == compare_prices(
        record.utxoracle_price, record.exchange_price
    )
    assert record.is_valid and record.invalid_reason is None
    assert (record.algorithm, record.source) == ("utxoracle-9.1", "esplora")
    assert record.output_count >= 1000 and 0 < record.deviation < 0.2
    assert not any(p.startswith("/api/v1/prices") for p in mempool.paths)


def test_an_invalid_run_never_overwrites_a_valid_day(
    store_file: Path, chain: SimulatorServer, mempool: MempoolStub
) -> None:
    day = chain.chain.days[1]
    ingestion().compute_and_save(day)
    valid = selectors.day_record(day)
    strict = ValidityRules(10_000, 500_000, min_outputs=10**9, max_deviation=0.2)
    outcome = ingestion(rules=strict).compute_and_save(day)
    assert outcome.status is Outcome.KEPT_VALID
    assert outcome.reason == f"{valid.output_count} outputs, fewer than 1000000000"
    assert selectors.day_record(day) == valid
    assert len(selectors.blocks_of_day(day)) == 144


def test_recomputing_a_day_changes_nothing_but_its_computation_time(
    store_file: Path, chain: SimulatorServer, mempool: MempoolStub
) -> None:
    day = chain.chain.days[2]
    ingestion().run(day, day)
    first, blocks = selectors.day_record(day), selectors.blocks_of_day(day)
    summary = ingestion().run(day, day, force=True)
    assert [o.status for o in summary.outcomes] == [Outcome.VALID]
    again = selectors.day_record(day)
    assert again.computed_at >= first.computed_at
    assert again._replace(computed_at=first.computed_at) == first
    assert selectors.blocks_of_day(day) == blocks


def test_update_computes_only_the_days_without_a_valid_row(
    store_file: Path, chain: SimulatorServer, mempool: MempoolStub, settings
) -> None:
    settings.PRICE_WINDOW_DAYS = 3
    days = chain.chain.days[-3:]
    kept = day_record(days[0], exchange_price=None)
    with open_writer() as writer:
        writer.save_day(kept, [])
        writer.save_day(invalid(day_record(days[1])), [])
        writer.save_day(day_record(days[2]), [])
    seen: list[DayOutcome] = []
    summary = update_prices(ingestion(), on_day=seen.append)
    assert [(o.day, o.status) for o in summary.outcomes] == [
        (days[0], Outcome.SKIPPED),
        (days[1], Outcome.VALID),
        (days[2], Outcome.SKIPPED),
    ]
    assert seen == summary.outcomes
    assert selectors.missing_price_dates(3) == []
    # the exchange price missing from the kept day was filled in, the rest of it untouched
    filled = selectors.day_record(days[0])
    assert filled.exchange_price == historical_price(days[0])
    unfilled = filled._replace(exchange_price=None, price_difference=None, avg_pct_diff=None)
    assert unfilled == kept._replace(price_difference=None, avg_pct_diff=None)
    assert "1 computed (1 valid, 0 invalid" in summary.line()
    assert "2 already valid, 0 failed" in summary.line()


def test_a_day_without_exchange_price_is_kept_valid(
    store_file: Path, chain: SimulatorServer, mempool: MempoolStub, settings
) -> None:
    settings.HTTP_RETRIES = 0
    mempool.failing = True
    day = chain.chain.days[3]
    assert ingestion().compute_and_save(day).status is Outcome.VALID
    record = selectors.day_record(day)
    assert record.is_valid and record.exchange_price is None and record.price_difference is None


def test_a_block_source_failure_saves_nothing(
    store_file: Path, mempool: MempoolStub, settings
) -> None:
    settings.ELECTRS_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.PRICE_SOURCE = ("esplora",)
    settings.HTTP_RETRIES = 0
    day = date.today() - timedelta(days=2)
    summary = ingestion().run(day, day)
    [outcome] = summary.failed
    assert "block source esplora failed" in outcome.reason
    assert "1 failed" in summary.line()
    assert selectors.day_record(day) is None
    assert mempool.paths == []


def test_today_is_not_servable(store_file: Path, chain: SimulatorServer, mempool) -> None:
    today = selectors.utc_today()
    outcome = ingestion().compute_and_save(today)
    assert outcome.status is Outcome.FAILED
    assert "not complete" in outcome.reason or "future" in outcome.reason
    assert selectors.day_record(today) is None


def test_a_run_stops_between_days(store_file: Path, chain: SimulatorServer, mempool) -> None:
    day = chain.chain.days[0]
    with open_writer() as writer:
        writer.save_day(day_record(day), [])
    calls = []

    def stop_after_first() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(Stopped, match=f"stopped before {day + timedelta(days=1)}"):
        ingestion().run(day, day + timedelta(days=1), should_stop=stop_after_first)


def test_outcome_and_summary_lines() -> None:
    day = date(2025, 1, 1)
    assert DayOutcome(day, Outcome.VALID, 63012.345, None, 4.12).line() == (
        "2025-01-01 valid 63,012.35 USD (4.1 s)"
    )
    assert DayOutcome(day, Outcome.SKIPPED).line() == "2025-01-01 skipped"
    summary = RunSummary(day, day, [DayOutcome(day, Outcome.FAILED, reason="x")], 1.26)
    assert summary.line() == (
        "2025-01-01..2025-01-01: 1 days; 0 computed (0 valid, 0 invalid, 0 invalid with the valid"
        " row kept), 0 already valid, 1 failed; 1.3 s"
    )
