"""Read-only queries on the DuckDB price store (`settings.DUCKDB_PATH`) for other apps.

The web process never writes the store: these functions open it read-only and never create it. A
file that does not exist yet is an empty store. DuckDB lets one process write or several read, so
while the worker holds the write lock a read waits up to `lock_wait` seconds before giving up with
`PriceStoreLocked`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from django.conf import settings

LOCK_RETRY_SECONDS = 0.05


class PriceStoreLocked(Exception):
    """A writer held the price store for longer than the caller was willing to wait."""


@contextmanager
def _read_only_store(lock_wait: float) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection to the store, or None when its file does not exist yet."""
    path = Path(settings.DUCKDB_PATH)
    if not path.exists():
        yield None
        return
    deadline = time.monotonic() + lock_wait
    while True:
        try:
            connection = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise PriceStoreLocked(
                    f"the price store is locked by a writer (waited {lock_wait:g} s)"
                ) from None
            time.sleep(LOCK_RETRY_SECONDS)
    try:
        yield connection
    finally:
        connection.close()


def ping_price_store(*, lock_wait: float = 0.0) -> None:
    """Return when the store answers a trivial query (or does not exist yet); raise otherwise."""
    with _read_only_store(lock_wait) as store:
        if store is not None:
            store.execute("SELECT 1").fetchone()


def missing_price_dates(
    days: int, today: date | None = None, *, lock_wait: float = 0.0
) -> list[date]:
    """The complete UTC days among the last `days` (today excluded) without a valid price row."""
    today = today or datetime.now(UTC).date()
    window = [today - timedelta(days=back) for back in range(days, 0, -1)]
    if not window:
        return []
    with _read_only_store(lock_wait) as store:
        valid = set() if store is None else _valid_days(store, window[0], window[-1])
    return [day for day in window if day not in valid]


def _valid_days(store: duckdb.DuckDBPyConnection, first: date, last: date) -> set[date]:
    try:
        rows = store.execute(
            "SELECT date FROM daily_prices WHERE is_valid AND date BETWEEN ? AND ?", [first, last]
        ).fetchall()
    except duckdb.CatalogException:  # the table is not there yet: an empty store
        return set()
    return {row[0] for row in rows}
