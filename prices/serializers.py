"""The API's representations of the series: JSON objects with the earlier service's field names,
and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from prices.selectors import ComparisonStats, DayStatus, SeriesDay
from prices.store import DayRecord

PRICE_FIELDS = (
    "timestamp",
    "utxoracle_price",
    "mempool_price",
    "confidence",
    "tx_count",
    "diff_amount",
    "diff_percent",
    "is_valid",
    "deviation",
    "block_first",
    "block_last",
)


def price_entry(record: DayRecord) -> dict[str, Any]:
    """One day as the API shows it (`tx_count` is the number of outputs the price used)."""
    return {
        "timestamp": record.date.isoformat(),
        "utxoracle_price": record.utxoracle_price,
        "mempool_price": record.exchange_price,
        "confidence": record.confidence,
        "tx_count": record.output_count,
        "diff_amount": record.price_difference,
        "diff_percent": record.avg_pct_diff,
        "is_valid": record.is_valid,
        "deviation": record.deviation,
        "block_first": record.block_first,
        "block_last": record.block_last,
    }


def price_csv(records: Iterable[DayRecord]) -> str:
    """The days as CSV with a header row of PRICE_FIELDS; empty cells for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PRICE_FIELDS)
    for record in records:
        entry = price_entry(record)
        writer.writerow([_csv_cell(entry[f]) for f in PRICE_FIELDS])
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
