"""The API's representations of the series: JSON objects with the earlier service's field names
(see `prices.selectors.PRICE_ENTRY`), and CSV; a day's blocks, its price cloud and the provisional
price of the day in progress."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from core.api import iso
from prices.selectors import PRICE_ENTRY, ComparisonStats, DayStatus, PricedBlock, SeriesDay
from prices.store import BlockRecord, CloudRecord, ProvisionalRecord

PRICE_FIELDS = tuple(PRICE_ENTRY)
BLOCK_FIELDS = ("height", "time", "unix_time", "median_price", "price_points")
AT_FIELDS = ("timestamp", "date", *BLOCK_FIELDS, "day_price", "is_valid")


def price_csv(rows: Iterable[tuple]) -> str:
    """Price entries as CSV with a header row of PRICE_FIELDS; empty cells for missing values."""
    return table_csv(PRICE_FIELDS, rows)


def table_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV under a header row; empty cells for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_csv_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def comparison_entry(stats: ComparisonStats, timeframe_days: int) -> dict[str, Any]:
    return {**asdict(stats), "timeframe_days": timeframe_days}


def gaps_entry(days: list[SeriesDay], timeframe_days: int) -> dict[str, Any]:
    """The complete days of a window without a valid row."""
    gaps = [d for d in days if d.status is not DayStatus.VALID]
    return {
        "timeframe_days": timeframe_days,
        "first": days[0].date.isoformat(),
        "last": days[-1].date.isoformat(),
        "gaps_detected": len(gaps),
        "missing_dates": [d.date.isoformat() for d in gaps],
        "gaps": [{"date": d.date.isoformat(), "status": str(d.status)} for d in gaps],
    }


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def block_entry(block: BlockRecord) -> dict[str, Any]:
    """One block of a day: BLOCK_FIELDS."""
    moment = _aware(block.block_time)
    return {
        "height": block.height,
        "time": iso(moment),
        "unix_time": int(moment.timestamp()),
        "median_price": block.median_price,
        "price_points": block.price_points,
    }


def day_entry(entry: dict[str, Any], blocks: list[BlockRecord], cloud: bool) -> dict[str, Any]:
    """A stored day with its blocks, oldest first, and whether its price cloud is stored."""
    return {**entry, "has_cloud": cloud, "blocks": [block_entry(b) for b in blocks]}


def at_entry(timestamp: int, found: PricedBlock) -> dict[str, Any]:
    """The block in force at `timestamp` (AT_FIELDS)."""
    return {
        "timestamp": timestamp,
        "date": found.block.date.isoformat(),
        **block_entry(found.block),
        "day_price": found.day.utxoracle_price,
        "is_valid": found.day.is_valid,
    }


def cloud_entry(cloud: CloudRecord, price: float) -> dict[str, Any]:
    """A day's price cloud; `counts[i][j]` is the number of price points of time bin i (from
    `start`, `seconds_per_bin` each) and price bin j (from `price_low`, `price_step` each)."""
    from prices.utxoracle.cloud import PriceCloud  # NumPy loads when a cloud is asked for

    counts = PriceCloud.counts_from_bytes(cloud.counts)
    time_bins, price_bins = counts.shape
    start = _aware(cloud.start_time)
    return {
        "date": cloud.date.isoformat(),
        "price": price,
        "start": iso(start),
        "start_unix": int(start.timestamp()),
        "seconds_per_bin": cloud.seconds_per_bin,
        "time_bins": time_bins,
        "price_low": cloud.price_low,
        "price_high": cloud.price_high,
        "price_step": (cloud.price_high - cloud.price_low) / price_bins,
        "price_bins": price_bins,
        "point_count": cloud.point_count,
        "counts": counts.tolist(),
    }


def provisional_entry(record: ProvisionalRecord) -> dict[str, Any]:
    """The provisional price of the day in progress."""
    last = record.last_block_time
    return {
        "date": record.date.isoformat(),
        "provisional": True,
        "price": record.price,
        "block_count": record.block_count,
        "block_first": record.block_first,
        "block_last": record.block_last,
        "last_block_time": iso(_aware(last)) if last is not None else None,
        "output_count": record.output_count,
        "price_point_count": record.price_point_count,
        "deviation": record.deviation,
        "confidence": record.confidence,
        "is_valid": record.is_valid,
        "invalid_reason": record.invalid_reason,
        "source": record.source,
        "algorithm": record.algorithm,
        "computed_at": iso(_aware(record.computed_at)),
    }
