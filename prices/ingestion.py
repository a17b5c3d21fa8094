"""Compute days with the oracle engine and save them: the scheduler's update and backfills.

Each day is computed without holding the store's write lock, then saved (with its exchange price
and its blocks) in one short write that publishes a new snapshot. So an interrupted run keeps every
day it finished, and a rerun skips the days that are valid already. A run over many days streams
them through one pipeline, so the next day is being computed while a day is saved.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

import structlog
from django.conf import settings

from notify import messages
from prices.exchange import ExchangePrices
from prices.selectors import complete_days, utc_today
from prices.store import (
    BlockRecord,
    CloudRecord,
    DayRecord,
    SaveOutcome,
    compare_prices,
    open_writer,
    utc_now,
)
from prices.utxoracle.algorithm import InsufficientData
from prices.utxoracle.cloud import PriceCloud
from prices.utxoracle.engine import (
    DateNotServable,
    OracleResult,
    Progress,
    compute_day_price,
    compute_day_prices,
)
from prices.utxoracle.sources import BlockSource, BlockSourceError, block_source_from_settings
from prices.validity import ValidityRules

log = structlog.get_logger(__name__)


class Outcome(StrEnum):
    """What became of one day of a run."""

    VALID = "valid"  # computed and saved as valid
    INVALID = "invalid"  # computed, breaks a validity rule, saved as invalid
    KEPT_VALID = "kept_valid"  # computed invalid; the valid row already stored stays
    SKIPPED = "skipped"  # valid already, not recomputed
    FAILED = "failed"  # no price (block source, date not servable, no data); nothing saved


@dataclass(frozen=True)
class DayOutcome:
    """The result of one day of a run."""

    day: date
    status: Outcome
    price: float | None = None
    reason: str | None = None
    elapsed_s: float = 0.0

    def line(self) -> str:
        """One human-readable line, e.g. `2025-01-01 valid 63,012.34 USD (4.1 s)`."""
        parts = [self.day.isoformat(), self.status.value]
        if self.price is not None:
            parts.append(f"{self.price:,.2f} USD")
        if self.reason:
            parts.append(f"- {self.reason}")
        if self.elapsed_s:
            parts.append(f"({self.elapsed_s:.1f} s)")
        return " ".join(parts)


@dataclass
class RunSummary:
    """Counts of a run over a range of days."""

    first: date
    last: date
    outcomes: list[DayOutcome] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def counts(self) -> Counter[Outcome]:
        return Counter(outcome.status for outcome in self.outcomes)

    @property
    def failed(self) -> list[DayOutcome]:
        return [o for o in self.outcomes if o.status is Outcome.FAILED]

    def line(self) -> str:
        counts = self.counts
        computed = counts[Outcome.VALID] + counts[Outcome.INVALID] + counts[Outcome.KEPT_VALID]
        return (
            f"{self.first}..{self.last}: {len(self.outcomes)} days; {computed} computed"
            f" ({counts[Outcome.VALID]} valid, {counts[Outcome.INVALID]} invalid,"
            f" {counts[Outcome.KEPT_VALID]} invalid with the valid row kept),"
            f" {counts[Outcome.SKIPPED]} already valid, {counts[Outcome.FAILED]} failed;"
            f" {self.elapsed_s:.1f} s"
        )


class Stopped(Exception):
    """A run was asked to stop; the days finished so far are saved."""


def days_in(first: date, last: date) -> Iterator[date]:
    """Every day from `first` to `last` inclusive."""
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _utc_datetime(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)


def cloud_record(day: date, cloud: PriceCloud) -> CloudRecord:
    """The store row of a day's price cloud."""
    return CloudRecord(
        date=day,
        start_time=_utc_datetime(cloud.start),
        seconds_per_bin=cloud.seconds_per_bin,
        price_low=cloud.price_low,
        price_high=cloud.price_high,
        point_count=cloud.point_count,
        counts=cloud.to_bytes(),
    )


def records_from_result(
    result: OracleResult, exchange_price: float | None, rules: ValidityRules
) -> tuple[DayRecord, list[BlockRecord], CloudRecord | None]:
    """The store rows of a computed day: the day, its blocks and its price cloud."""
    assert result.date is not None
    problems = rules.problems(result.price, result.output_count, result.deviation)
    difference, percent = compare_prices(result.price, exchange_price)
    record = DayRecord(
        date=result.date,
        utxoracle_price=result.price,
        exchange_price=exchange_price,
        price_difference=difference,
        avg_pct_diff=percent,
        confidence=result.confidence,
        deviation=result.deviation,
        output_count=result.output_count,
        price_point_count=result.price_point_count,
        block_first=result.block_first,
        block_last=result.block_last,
        is_valid=not problems,
        invalid_reason="; ".join(problems) or None,
        algorithm=result.algorithm,
        source=result.source,
        computed_at=utc_now(),
    )
    blocks = [
        BlockRecord(result.date, b.height, _utc_datetime(b.time), b.price, b.points)
        for b in result.blocks
    ]
    cloud = None if result.cloud is None else cloud_record(result.date, result.cloud)
    return record, blocks, cloud


class PriceIngestion:
    """Computes and saves days; one block source, exchange client and rule set for a whole run."""

    def __init__(
        self,
        source: BlockSource | None = None,
        exchange: ExchangePrices | None = None,
        rules: ValidityRules | None = None,
        *,
        today: date | None = None,
        workers: int | None = None,
    ) -> None:
        self.source = source or block_source_from_settings()
        self.exchange = exchange or ExchangePrices()
        self.rules = rules or ValidityRules.from_settings()
        self.today = today or utc_today()
        self.workers = workers

    def compute_and_save(self, day: date, progress: Progress | None = None) -> DayOutcome:
        """Compute one day and save it; a failure is returned as a FAILED outcome."""
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(day=day.isoformat()):
            try:
                computed: OracleResult | Exception = compute_day_price(
                    day, self.source, progress, workers=self.workers
                )
            except (DateNotServable, BlockSourceError, InsufficientData) as exc:
                computed = exc
            return self.save(day, computed, started)

    def save(self, day: date, computed: OracleResult | Exception, started: float) -> DayOutcome:
        """Save a computed day with its exchange price (nothing for a failure); `started` is when
        its computation began, for the outcome's time."""
        if isinstance(computed, Exception):
            log.warning("price_day_failed", reason=str(computed))
            return DayOutcome(day, Outcome.FAILED, reason=str(computed))
        exchange_price = self.exchange.price_on(day, self.today)
        record, blocks, cloud = records_from_result(computed, exchange_price, self.rules)
        with open_writer() as writer:
            saved = writer.save_day(record, blocks, cloud)
        elapsed = round(time.perf_counter() - started, 3)
        if saved is SaveOutcome.KEPT_VALID:
            status = Outcome.KEPT_VALID
        else:
            status = Outcome.VALID if record.is_valid else Outcome.INVALID
        log.info(
            "price_day_saved",
            status=status.value,
            price=record.utxoracle_price,
            exchange_price=record.exchange_price,
            reason=record.invalid_reason,
            elapsed_s=elapsed,
        )
        if status is Outcome.VALID and day == self.today - timedelta(days=1):
            messages.price_day(
                day, record.utxoracle_price, record.exchange_price, record.confidence
            )
        return DayOutcome(day, status, record.utxoracle_price, record.invalid_reason, elapsed)

    def run(
        self,
        first: date,
        last: date,
        *,
        force: bool = False,
        on_day: Callable[[DayOutcome], None] | None = None,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> RunSummary:
        """Compute the days from `first` to `last`; without `force`, skip the valid ones.

        The days to compute go through one pipeline (`compute_day_prices`): the next day's
        blocks are fetched and parsed while a day is saved. A day's time is the wall time from
        the previous outcome to its own. Raises Stopped between days when `should_stop()` turns
        true.
        """
        started = time.perf_counter()
        summary = RunSummary(first, last)
        with open_writer() as writer:
            valid = set() if force else writer.valid_dates(first, last)
        wanted = [day for day in days_in(first, last) if day not in valid]
        pipeline = compute_day_prices(wanted, self.source, progress, workers=self.workers)
        with closing(pipeline):
            for day in days_in(first, last):
                if should_stop():
                    raise Stopped(f"stopped before {day}")
                if day in valid:
                    outcome = DayOutcome(day, Outcome.SKIPPED)
                else:
                    with structlog.contextvars.bound_contextvars(day=day.isoformat()):
                        day_started = time.perf_counter()
                        _, computed = next(pipeline)
                        outcome = self.save(day, computed, day_started)
                summary.outcomes.append(outcome)
                if on_day:
                    on_day(outcome)
        summary.elapsed_s = round(time.perf_counter() - started, 3)
        return summary

    def fill_exchange_prices(self, first: date, last: date) -> int:
        """Fetch the exchange prices still missing on stored days; return how many were found."""
        with open_writer() as writer:
            wanted = writer.dates_without_exchange_price(first, last)
        found = {day: p for day in wanted if (p := self.exchange.price_on(day, self.today))}
        if found:
            with open_writer() as writer:
                for day, price in found.items():
                    writer.set_exchange_price(day, price)
        return len(found)


def update_prices(
    ingestion: PriceIngestion | None = None,
    *,
    window_days: int | None = None,
    on_day: Callable[[DayOutcome], None] | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Compute every complete day of the last PRICE_WINDOW_DAYS that lacks a valid row, then fill
    in exchange prices that were unavailable when their day was computed."""
    ingestion = ingestion or PriceIngestion()
    first, last = complete_days(window_days or settings.PRICE_WINDOW_DAYS, ingestion.today)
    summary = ingestion.run(first, last, on_day=on_day, progress=progress)
    filled = ingestion.fill_exchange_prices(first, last)
    log.info("prices_updated", summary=summary.line(), exchange_prices_filled=filled)
    return summary
