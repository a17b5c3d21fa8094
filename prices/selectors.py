"""Read the price series from the published snapshot: what the API, the admin and health use.

Every function reads through `prices.store.snapshot_cursor`, so it never touches the writer's file
and never waits for a write. A store that has published nothing yet reads as an empty series.
Store failures raise `prices.store.StoreUnavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from prices.store import (
    BLOCK_COLUMNS,
    CLOUD_COLUMNS,
    DAY_COLUMNS,
    PROVISIONAL_COLUMNS,
    BlockRecord,
    CloudRecord,
    DayRecord,
    ProvisionalRecord,
    StoreUnavailable,
    snapshot_cursor,
)

_DAY_SELECT = f"SELECT {', '.join(DAY_COLUMNS)} FROM daily_prices"

# The API's view of a day: each field of the earlier service's JSON and its SQL expression.
PRICE_ENTRY: dict[str, str] = {
    "timestamp": "strftime(date, '%Y-%m-%d')",
    "utxoracle_price": "utxoracle_price",
    "mempool_price": "exchange_price",
    "confidence": "confidence",
    "tx_count": "output_count",
    "diff_amount": "price_difference",
    "diff_percent": "avg_pct_diff",
    "is_valid": "is_valid",
    "deviation": "deviation",
    "block_first": "block_first",
    "block_last": "block_last",
}
_ENTRY_SELECT = f"SELECT {', '.join(PRICE_ENTRY.values())} FROM daily_prices"
_ENTRY_JSON = ", ".join(f"'{field}', {sql}" for field, sql in PRICE_ENTRY.items())


def utc_today() -> date:
    """Today's date in UTC: the day still in progress, never part of the series."""
    return datetime.now(UTC).date()


def complete_days(days: int, today: date | None = None) -> tuple[date, date]:
    """The first and last of the `days` complete UTC days before `today`."""
    today = today or utc_today()
    return today - timedelta(days=days), today - timedelta(days=1)


def latest_day() -> DayRecord | None:
    """The most recent stored day (valid or not), or None for an empty series."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return None
        row = cursor.execute(f"{_DAY_SELECT} ORDER BY date DESC LIMIT 1").fetchone()
    return None if row is None else DayRecord(*row)


def latest_valid_day() -> DayRecord | None:
    """The most recent valid day, or None when there is none."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return None
        row = cursor.execute(f"{_DAY_SELECT} WHERE is_valid ORDER BY date DESC LIMIT 1").fetchone()
    return None if row is None else DayRecord(*row)


def latest_price_entry() -> dict[str, Any] | None:
    """The most recent stored day as the API shows it, or None for an empty series."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return None
        row = cursor.execute(f"{_ENTRY_SELECT} ORDER BY date DESC LIMIT 1").fetchone()
    return None if row is None else dict(zip(PRICE_ENTRY, row, strict=True))


def price_entry(day: date) -> dict[str, Any] | None:
    """One stored day as the API shows it, or None."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return None
        row = cursor.execute(f"{_ENTRY_SELECT} WHERE date = ?", [day]).fetchone()
    return None if row is None else dict(zip(PRICE_ENTRY, row, strict=True))


def entries_computed_after(moment: datetime, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` days computed (stored or recomputed) after `moment`, oldest computation
    first, as the API shows them, each with its `computed_at`."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return []
        rows = cursor.execute(
            f"SELECT {', '.join(PRICE_ENTRY.values())}, computed_at FROM daily_prices"
            " WHERE computed_at > ? ORDER BY computed_at, date LIMIT ?",
            [moment, limit],
        ).fetchall()
    return [
        {**dict(zip(PRICE_ENTRY, row[:-1], strict=True)), "computed_at": row[-1]} for row in rows
    ]


def latest_computation() -> datetime | None:
    """When the most recently computed day was computed (naive UTC), None for an empty series."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return None
        return cursor.execute("SELECT max(computed_at) FROM daily_prices").fetchone()[0]


@dataclass(frozen=True)
class SeriesState:
    """What changes whenever a day is added or recomputed: the newest stored day, the number of
    days and the latest computation (naive UTC; None for an empty series)."""

    latest: date | None
    days: int
    computed_at: datetime | None

    def version(self) -> bytes:
        """The state as bytes, part of every series answer's ETag."""
        return f"{self.latest}/{self.days}/{self.computed_at}".encode()


def series_state() -> SeriesState:
    """The series' current SeriesState."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return SeriesState(None, 0, None)
        row = cursor.execute(
            "SELECT max(date), count(*), max(computed_at) FROM daily_prices"
        ).fetchone()
    return SeriesState(*row)


def price_entries(first: date, last: date) -> list[tuple]:
    """The stored days from `first` to `last` as rows of PRICE_ENTRY's fields, oldest first."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return []
        return cursor.execute(
            f"{_ENTRY_SELECT} WHERE date BETWEEN ? AND ? ORDER BY date", [first, last]
        ).fetchall()


def price_entries_json(first: date, last: date) -> str:
    """The same as a JSON array of objects, rendered by DuckDB."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return "[]"
        return cursor.execute(
            f"SELECT coalesce(to_json(list(json_object({_ENTRY_JSON}) ORDER BY date)), '[]')"
            "::VARCHAR FROM daily_prices WHERE date BETWEEN ? AND ?",
            [first, last],
        ).fetchone()[0]


def day_record(day: date) -> DayRecord | None:
    """The stored row of one day, if any."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return None
        row = cursor.execute(f"{_DAY_SELECT} WHERE date = ?", [day]).fetchone()
    return None if row is None else DayRecord(*row)


def days_between(first: date, last: date) -> list[DayRecord]:
    """The stored days from `first` to `last` inclusive, oldest first."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return []
        rows = cursor.execute(
            f"{_DAY_SELECT} WHERE date BETWEEN ? AND ? ORDER BY date", [first, last]
        ).fetchall()
    return [DayRecord(*row) for row in rows]


def blocks_of_day(day: date) -> list[BlockRecord]:
    """The per-block detail of one day, by height."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return []
        rows = cursor.execute(
            f"SELECT {', '.join(BLOCK_COLUMNS)} FROM block_prices WHERE date = ? ORDER BY height",
            [day],
        ).fetchall()
    return [BlockRecord(*row) for row in rows]


def cloud_of_day(day: date) -> CloudRecord | None:
    """The price cloud of one day; None when the day is not stored or was computed before clouds
    were kept."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return None
        row = cursor.execute(
            f"SELECT {', '.join(CLOUD_COLUMNS)} FROM price_clouds WHERE date = ?", [day]
        ).fetchone()
    return None if row is None else CloudRecord(*row)


def has_cloud(day: date) -> bool:
    """Whether a price cloud is stored for the day."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return False
        query = "SELECT count(*) FROM price_clouds WHERE date = ?"
        return bool(cursor.execute(query, [day]).fetchone()[0])


@dataclass(frozen=True)
class PricedBlock:
    """The block in force at a moment, and the stored day it belongs to."""

    block: BlockRecord
    day: DayRecord


def block_in_force(moment: datetime) -> PricedBlock | None:
    """The latest block with price points stamped at or before `moment` (naive UTC; on a tie of
    times, the higher one), among the blocks of its UTC day and the day before; None when that day
    is not stored or no such block exists."""
    day = moment.date()
    with snapshot_cursor() as cursor:
        if cursor is None:
            return None
        row = cursor.execute(
            f"SELECT {', '.join('b.' + c for c in BLOCK_COLUMNS)},"
            f" {', '.join('d.' + c for c in DAY_COLUMNS)}"
            " FROM block_prices b JOIN daily_prices d ON d.date = b.date"
            " WHERE b.date BETWEEN ? AND ? AND b.block_time <= ? AND b.median_price IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM daily_prices WHERE date = ?)"
            " ORDER BY b.block_time DESC, b.height DESC LIMIT 1",
            [day - timedelta(days=1), day, moment, day],
        ).fetchone()
    if row is None:
        return None
    split = len(BLOCK_COLUMNS)
    return PricedBlock(BlockRecord(*row[:split]), DayRecord(*row[split:]))


def provisional_record() -> ProvisionalRecord | None:
    """The provisional row of the day in progress, if the worker has written one."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return None
        row = cursor.execute(
            f"SELECT {', '.join(PROVISIONAL_COLUMNS)} FROM provisional_prices"
            " ORDER BY date DESC LIMIT 1"
        ).fetchone()
    return None if row is None else ProvisionalRecord(*row)


ONCHAIN_MAX_AGE_DAYS = 7


def onchain_usd_price(today: date | None = None) -> float | None:
    """Our own latest BTC/USD price: today's provisional price once shown and valid, else the
    latest valid day of the last ONCHAIN_MAX_AGE_DAYS; None without either."""
    today = today or utc_today()
    with snapshot_cursor() as cursor:
        if cursor is None:
            return None
        row = cursor.execute(
            "SELECT price FROM provisional_prices WHERE date = ? AND is_valid"
            " AND price IS NOT NULL",
            [today],
        ).fetchone()
        if row is None:
            row = cursor.execute(
                "SELECT utxoracle_price FROM daily_prices WHERE is_valid AND date BETWEEN ? AND ?"
                " ORDER BY date DESC LIMIT 1",
                [today - timedelta(days=ONCHAIN_MAX_AGE_DAYS), today],
            ).fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class ComparisonStats:
    """On-chain against exchange price over a period (differences are exchange - on-chain)."""

    avg_diff: float | None
    max_diff: float | None
    min_diff: float | None
    avg_diff_percent: float | None
    total_entries: int
    valid_entries: int


def comparison_stats(first: date, last: date) -> ComparisonStats:
    """Difference statistics over the valid days with both prices; counts over all stored days."""
    with snapshot_cursor() as cursor:
        if cursor is None:
            return ComparisonStats(None, None, None, None, 0, 0)
        row = cursor.execute(
            """
            SELECT
                avg(price_difference) FILTER (WHERE is_valid AND exchange_price IS NOT NULL),
                max(price_difference) FILTER (WHERE is_valid AND exchange_price IS NOT NULL),
                min(price_difference) FILTER (WHERE is_valid AND exchange_price IS NOT NULL),
                avg(avg_pct_diff) FILTER (WHERE is_valid AND exchange_price IS NOT NULL),
                count(*),
                count(*) FILTER (WHERE is_valid)
            FROM daily_prices WHERE date BETWEEN ? AND ?
            """,
            [first, last],
        ).fetchone()
    avg_diff, max_diff, min_diff, avg_pct, total, valid = row
    return ComparisonStats(
        avg_diff=None if avg_diff is None else round(avg_diff, 2),
        max_diff=max_diff,
        min_diff=min_diff,
        avg_diff_percent=None if avg_pct is None else round(avg_pct, 4),
        total_entries=total,
        valid_entries=valid,
    )


class DayStatus(StrEnum):
    """Where a complete day stands in the series."""

    VALID = "valid"
    INVALID = "invalid"
    MISSING = "missing"


@dataclass(frozen=True)
class SeriesDay:
    """A calendar day of the series with its row, if stored."""

    date: date
    status: DayStatus
    record: DayRecord | None


def series_days(first: date, last: date) -> list[SeriesDay]:
    """Every calendar day from `first` to `last`, oldest first, marked valid/invalid/missing."""
    stored = {record.date: record for record in days_between(first, last)}
    result = []
    day = first
    while day <= last:
        record = stored.get(day)
        if record is None:
            status = DayStatus.MISSING
        else:
            status = DayStatus.VALID if record.is_valid else DayStatus.INVALID
        result.append(SeriesDay(day, status, record))
        day += timedelta(days=1)
    return result


def missing_price_dates(days: int, today: date | None = None) -> list[date]:
    """The complete UTC days of the last `days` without a valid row, oldest first.

    Today never counts (it is not complete); with nothing published yet every day is missing.
    """
    first, last = complete_days(days, today)
    return [d.date for d in series_days(first, last) if d.status is not DayStatus.VALID]


def ping_price_store() -> None:
    """Open the current snapshot read-only and run `SELECT 1`; raise StoreUnavailable on failure.

    Never creates anything: with nothing published yet it raises.
    """
    with snapshot_cursor() as cursor:
        if cursor is None:
            raise StoreUnavailable("no price store has been published yet")
        cursor.execute("SELECT 1").fetchone()
