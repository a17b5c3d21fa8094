"""Real DuckDB price stores for health tests, and a separate process that holds the write lock."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS daily_prices "
    "(date DATE PRIMARY KEY, price_usd DOUBLE, is_valid BOOLEAN)"
)
_WRITER = (
    "import duckdb, sys\n"
    "connection = duckdb.connect(sys.argv[1])\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
)


def write_store(path: Path, rows: Iterable[tuple[date, bool | None]] = ()) -> Path:
    """Create (or extend) a store with one row per (day, is_valid)."""
    connection = duckdb.connect(str(path))
    try:
        connection.execute(SCHEMA)
        for day, valid in rows:
            connection.execute("INSERT INTO daily_prices VALUES (?, 95000.0, ?)", [day, valid])
    finally:
        connection.close()
    return path


def complete_store(path: Path, days: int = 7) -> Path:
    """A store with a valid price for each of the last `days` complete UTC days."""
    today = datetime.now(UTC).date()
    return write_store(path, ((today - timedelta(days=n), True) for n in range(1, days + 1)))


@contextmanager
def write_lock_held(path: Path) -> Iterator[subprocess.Popen]:
    """Another process opens the store for writing (holding its lock) until the block ends."""
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        yield writer
    finally:
        release(writer)


def release(writer: subprocess.Popen) -> None:
    """Let the writer process close the store and exit."""
    if writer.stdin and not writer.stdin.closed:
        writer.stdin.close()
    writer.wait(10)
