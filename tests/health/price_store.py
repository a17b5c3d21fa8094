"""Real price stores for health tests, written through the store's own writer."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from prices.store import SNAPSHOT_POINTER, open_writer, snapshot_dir
from tests.prices.builders import day_record, invalid


def write_store(path: Path, rows: Iterable[tuple[date, bool]] = ()) -> Path:
    """Create (or extend) a store with one row per (day, is_valid) and publish a snapshot."""
    with open_writer(path) as writer:
        for day, valid in rows:
            record = day_record(day)
            writer.save_day(record if valid else invalid(record), [])
    return path


def complete_store(path: Path, days: int = 7) -> Path:
    """A store with a valid price for each of the last `days` complete UTC days."""
    today = datetime.now(UTC).date()
    return write_store(path, ((today - timedelta(days=n), True) for n in range(1, days + 1)))


def publish_garbage(path: Path) -> None:
    """Publish a snapshot that is not a DuckDB file: readers cannot open the store."""
    directory = snapshot_dir(path)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "999.duckdb").write_bytes(b"scrambled" * 500)
    (directory / SNAPSHOT_POINTER).write_text("999.duckdb")


@contextmanager
def write_lock_held(path: Path) -> Iterator[subprocess.Popen]:
    """Another process holds the store's write lock (as the worker does) until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _LOCK_HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(10)


_LOCK_HOLDER = (
    "import duckdb, sys\n"
    "connection = duckdb.connect(sys.argv[1])\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
)
