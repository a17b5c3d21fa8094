"""What the admin's price series pages show: the last days marked valid/invalid/missing, charts of
the series and of one day's blocks, a day's price cloud, and the backfill requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings

from prices import selectors
from prices.charts import Chart, Series, line_chart
from prices.selectors import DayStatus, SeriesDay
from prices.serializers import cloud_entry
from prices.store import BlockRecord, DayRecord

OVERVIEW_DAYS = 90


@dataclass(frozen=True)
class SeriesOverview:
    """The series page: days oldest first, their calendar weeks, the chart and the gaps."""

    days: list[SeriesDay]
    weeks: list[list[SeriesDay | None]]
    chart: str
    missing: list[date]
    health_missing: list[date]

    def count(self, status: str) -> int:
        return sum(1 for d in self.days if d.status == status)

    @property
    def valid_count(self) -> int:
        return self.count(DayStatus.VALID)

    @property
    def invalid_count(self) -> int:
        return self.count(DayStatus.INVALID)

    @property
    def missing_count(self) -> int:
        return self.count(DayStatus.MISSING)


def calendar_weeks(days: list[SeriesDay]) -> list[list[SeriesDay | None]]:
    """The days in rows of Monday-to-Sunday weeks, None where a week has no day of the range."""
    if not days:
        return []
    weeks: list[list[SeriesDay | None]] = [[None] * days[0].date.weekday()]
    for day in days:
        if len(weeks[-1]) == 7:
            weeks.append([])
        weeks[-1].append(day)
    weeks[-1] += [None] * (7 - len(weeks[-1]))
    return weeks


def _valid_price(day: SeriesDay, exchange: bool) -> float | None:
    if day.record is None or not day.record.is_valid:
        return None
    return day.record.exchange_price if exchange else day.record.utxoracle_price


def series_chart(days: list[SeriesDay], width: int = Chart.width, labels: int = 6) -> str:
    """On-chain against exchange price; lines break at days without a valid price. About
    `labels` dates label the x axis of a chart `width` units wide."""
    step = max(1, len(days) // labels)
    return line_chart(
        [
            Series(
                "UTXOracle", [(d.date.toordinal(), _valid_price(d, False)) for d in days], "onchain"
            ),
            Series(
                "Exchange", [(d.date.toordinal(), _valid_price(d, True)) for d in days], "exchange"
            ),
        ],
        Chart(
            width=width,
            x_labels=[(d.date.toordinal(), d.date.strftime("%b %d")) for d in days[::step]],
            gap_marks=[
                (d.date.toordinal(), f"{d.date}: {d.status}")
                for d in days
                if d.status is not DayStatus.VALID
            ],
        ),
        title="UTXOracle price against the exchange price, USD",
    )


def series_overview(days: int = OVERVIEW_DAYS, today: date | None = None) -> SeriesOverview:
    """The last `days` complete days (raises StoreUnavailable)."""
    first, last = selectors.complete_days(days, today)
    series = selectors.series_days(first, last)
    return SeriesOverview(
        days=series,
        weeks=calendar_weeks(series),
        chart=series_chart(series),
        missing=[d.date for d in series if d.status is not DayStatus.VALID],
        health_missing=selectors.missing_price_dates(settings.HEALTH_GAP_DAYS, today),
    )


@dataclass(frozen=True)
class DayDetail:
    """One day: its row (None when missing), its blocks and their intraday chart, and what the
    page's price cloud is drawn from (None without a stored cloud)."""

    date: date
    record: DayRecord | None
    blocks: list[BlockRecord]
    chart: str
    cloud: dict[str, Any] | None = None

    @property
    def status(self) -> DayStatus:
        if self.record is None:
            return DayStatus.MISSING
        return DayStatus.VALID if self.record.is_valid else DayStatus.INVALID


def intraday_chart(blocks: list[BlockRecord]) -> str:
    """The median price of each block's price points through the day."""
    points = [
        (
            (b.block_time - datetime.combine(b.date, datetime.min.time())).total_seconds() / 3600,
            b.median_price,
        )
        for b in blocks
    ]
    return line_chart(
        [Series("Block median", points, "onchain")],
        Chart(x_range=(0, 24), x_labels=[(h, f"{h:02d}:00") for h in range(0, 25, 3)]),
        title="Median price of each block's price points, USD",
    )


def cloud_drawing(record: DayRecord, blocks: list[BlockRecord]) -> dict[str, Any] | None:
    """The day's cloud (as the API serves it) with its blocks' medians as [unix time, price]
    pairs, for the page's script; None when no cloud is stored."""
    stored = selectors.cloud_of_day(record.date)
    if stored is None:
        return None
    medians = [
        [int(b.block_time.replace(tzinfo=UTC).timestamp()), b.median_price]
        for b in blocks
        if b.median_price is not None
    ]
    return {
        **cloud_entry(stored, record.utxoracle_price),
        "medians": medians,
        "blocks": [record.block_first, record.block_last],
        "is_valid": record.is_valid,
    }


def day_detail(day: date) -> DayDetail:
    """The detail of one day (raises StoreUnavailable)."""
    blocks = selectors.blocks_of_day(day)
    record = selectors.day_record(day)
    cloud = None if record is None else cloud_drawing(record, blocks)
    return DayDetail(day, record, blocks, intraday_chart(blocks), cloud)
