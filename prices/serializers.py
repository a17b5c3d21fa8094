"""The API's representations of the series: JSON objects with the earlier service's field names
(see `prices.selectors.PRICE_ENTRY`), and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from prices.selectors import PRICE_ENTRY, ComparisonStats, DayStatus, SeriesDay

PRICE_FIELDS = tuple(PRICE_ENTRY)


def price_csv(rows: Iterable[tuple]) -> str:
    """Price entries as CSV with a header row of PRICE_FIELDS; empty cells for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PRICE_FIELDS)
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
