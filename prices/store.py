"""The DuckDB price store: versioned schema, one writer at a time, immutable snapshots for readers.

DuckDB lets one process open a file for writing, or several open it read-only, never both. So:

* Writers (the worker and the management commands) open `DUCKDB_PATH` with `open_writer()` only
  for the moment it takes to save a computed day, waiting a bounded time when another writer holds
  the lock (another process, or another thread of this one: the worker's scheduler and its
  provisional price write from threads of their own). Computing the day happens before, without
  the lock.
* Before releasing the lock, a writer publishes a snapshot: it checkpoints, copies the file to
  `<DUCKDB_PATH>.snapshots/<id>.duckdb` and atomically points `CURRENT` in that folder at it. A
  published snapshot is never modified.
* Readers (web processes) use `snapshot_cursor()`: one read-only connection per process to the
  current snapshot, reopened only when a newer one is published. A request never waits for a
  write nor fails because of one. No snapshot yet means an empty series.

The schema is applied by writers only (`open_writer`, `migrate`), never by a reader.

DuckDB itself is imported where a connection is opened: importing this module (for its errors and
records, as the checks and the admin do) costs nothing when a process starts.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import structlog
from django.conf import settings

if TYPE_CHECKING:
    import duckdb

log = structlog.get_logger(__name__)

WRITE_LOCK_TIMEOUT = 30.0
SNAPSHOT_POINTER = "CURRENT"
_SNAPSHOT_NAME = re.compile(r"^[0-9]{1,24}\.duckdb$")
_OPEN_ATTEMPTS = 5
MEMO_SIZE = 256
MISSING = object()  # no result kept for a key
T = TypeVar("T")

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL);
    CREATE TABLE daily_prices (
        date DATE PRIMARY KEY,
        utxoracle_price DOUBLE NOT NULL,
        exchange_price DOUBLE,
        price_difference DOUBLE,
        avg_pct_diff DOUBLE,
        confidence DOUBLE NOT NULL,
        deviation DOUBLE NOT NULL,
        output_count INTEGER NOT NULL,
        price_point_count INTEGER NOT NULL,
        block_first INTEGER NOT NULL,
        block_last INTEGER NOT NULL,
        is_valid BOOLEAN NOT NULL,
        invalid_reason VARCHAR,
        algorithm VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        computed_at TIMESTAMP NOT NULL
    );
    CREATE TABLE block_prices (
        date DATE NOT NULL,
        height INTEGER NOT NULL,
        block_time TIMESTAMP NOT NULL,
        median_price DOUBLE,
        price_points INTEGER NOT NULL,
        PRIMARY KEY (date, height)
    );
    """,
    """
    CREATE TABLE price_clouds (
        date DATE PRIMARY KEY,
        start_time TIMESTAMP NOT NULL,
        seconds_per_bin INTEGER NOT NULL,
        price_low DOUBLE NOT NULL,
        price_high DOUBLE NOT NULL,
        point_count INTEGER NOT NULL,
        counts BLOB NOT NULL
    );
    CREATE TABLE provisional_prices (
        date DATE PRIMARY KEY,
        block_count INTEGER NOT NULL,
        block_first INTEGER,
        block_last INTEGER,
        last_block_time TIMESTAMP,
        price DOUBLE,
        output_count INTEGER,
        price_point_count INTEGER,
        deviation DOUBLE,
        confidence DOUBLE,
        is_valid BOOLEAN,
        invalid_reason VARCHAR,
        algorithm VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        computed_at TIMESTAMP NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreUnavailable(Exception):
    """The price store cannot be read or written right now; the message says why."""


class DayRecord(NamedTuple):
    """One row of the daily series. Timestamps are naive UTC."""

    date: date
    utxoracle_price: float
    exchange_price: float | None
    price_difference: float | None
    avg_pct_diff: float | None
    confidence: float
    deviation: float
    output_count: int
    price_point_count: int
    block_first: int
    block_last: int
    is_valid: bool
    invalid_reason: str | None
    algorithm: str
    source: str
    computed_at: datetime


class BlockRecord(NamedTuple):
    """One block of a day: its time and the median of its price points (None without points)."""

    date: date
    height: int
    block_time: datetime
    median_price: float | None
    price_points: int


class CloudRecord(NamedTuple):
    """A day's price cloud (`prices.utxoracle.cloud`): its bins' geometry and the compressed
    counts. Days computed before schema version 2 have none."""

    date: date
    start_time: datetime
    seconds_per_bin: int
    price_low: float
    price_high: float
    point_count: int
    counts: bytes


class ProvisionalRecord(NamedTuple):
    """The current UTC day from its blocks so far, kept apart from the daily series until the day
    is complete; the price fields are None while it has fewer blocks than the worker waits for."""

    date: date
    block_count: int
    block_first: int | None
    block_last: int | None
    last_block_time: datetime | None
    price: float | None
    output_count: int | None
    price_point_count: int | None
    deviation: float | None
    confidence: float | None
    is_valid: bool | None
    invalid_reason: str | None
    algorithm: str
    source: str
    computed_at: datetime


DAY_COLUMNS = DayRecord._fields
BLOCK_COLUMNS = BlockRecord._fields
CLOUD_COLUMNS = CloudRecord._fields
PROVISIONAL_COLUMNS = ProvisionalRecord._fields


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def compare_prices(
    utxoracle_price: float, exchange_price: float | None
) -> tuple[float | None, float | None]:
    """(exchange - utxoracle, that difference in % of utxoracle), None without exchange price."""
    if exchange_price is None or utxoracle_price == 0:
        return None, None
    difference = exchange_price - utxoracle_price
    return round(difference, 2), round(difference / utxoracle_price * 100, 4)


class SaveOutcome(StrEnum):
    """What saving a computed day did to the series."""

    CREATED = "created"
    REPLACED = "replaced"
    KEPT_VALID = "kept_valid"  # the new result was invalid: the valid row stays


def store_path() -> Path:
    """The writer's DuckDB file (settings.DUCKDB_PATH)."""
    return Path(settings.DUCKDB_PATH)


def snapshot_dir(path: Path) -> Path:
    """The folder holding the published snapshots of the store at `path`."""
    return path.with_name(path.name + ".snapshots")


# --- schema ---------------------------------------------------------------------------------


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    """The schema version of an open store (0 for an empty file)."""
    exists = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def apply_migrations(conn: duckdb.DuckDBPyConnection) -> list[int]:
    """Bring the schema up to SCHEMA_VERSION; return the versions applied now."""
    import duckdb

    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise StoreUnavailable(
            f"the price store has schema version {current}, newer than this code's {SCHEMA_VERSION}"
        )
    applied = []
    for version in range(current + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(MIGRATIONS[version - 1])
            conn.execute("INSERT INTO schema_version VALUES (?, ?)", [version, utc_now()])
            conn.execute("COMMIT")
        except duckdb.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreUnavailable(f"schema version {version} could not be applied: {exc}") from exc
        applied.append(version)
        log.info("price_store_migrated", version=version)
    return applied


# --- the writer -----------------------------------------------------------------------------


class PriceWriter:
    """Writes to the store through a connection that holds the write lock."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, applied: list[int]) -> None:
        self.conn = conn
        self.applied = applied
        self.changed = bool(applied)  # whether readers need a new snapshot

    def save_day(
        self, record: DayRecord, blocks: Sequence[BlockRecord], cloud: CloudRecord | None = None
    ) -> SaveOutcome:
        """Insert or replace a day, its blocks and its cloud in one transaction; the day's
        provisional row, if any, goes (the final value replaces it).

        An invalid record never replaces a valid row; saving the same record again changes nothing
        but `computed_at`.
        """
        self.conn.execute("BEGIN TRANSACTION")
        try:
            existing = self.conn.execute(
                "SELECT is_valid FROM daily_prices WHERE date = ?", [record.date]
            ).fetchone()
            if existing is not None and existing[0] and not record.is_valid:
                self.conn.execute("ROLLBACK")
                return SaveOutcome.KEPT_VALID
            updates = ", ".join(f"{c} = excluded.{c}" for c in DAY_COLUMNS[1:])
            self.conn.execute(
                f"{_insert('daily_prices', DAY_COLUMNS)} ON CONFLICT (date) DO UPDATE SET {updates}",
                list(record),
            )
            for table in ("block_prices", "price_clouds", "provisional_prices"):
                self.conn.execute(f"DELETE FROM {table} WHERE date = ?", [record.date])
            if blocks:
                self.conn.executemany(
                    _insert("block_prices", BLOCK_COLUMNS), [list(block) for block in blocks]
                )
            if cloud is not None:
                self.conn.execute(_insert("price_clouds", CLOUD_COLUMNS), list(cloud))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.changed = True
        return SaveOutcome.CREATED if existing is None else SaveOutcome.REPLACED

    def save_provisional(self, record: ProvisionalRecord) -> bool:
        """Make `record` the one provisional row; False (nothing saved) when its day is in the
        series already."""
        self.conn.execute("BEGIN TRANSACTION")
        try:
            final = self.conn.execute(
                "SELECT count(*) FROM daily_prices WHERE date = ?", [record.date]
            ).fetchone()[0]
            if final:
                self.conn.execute("ROLLBACK")
                return False
            self.conn.execute("DELETE FROM provisional_prices")
            self.conn.execute(_insert("provisional_prices", PROVISIONAL_COLUMNS), list(record))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.changed = True
        return True

    def valid_dates(self, first: date, last: date) -> set[date]:
        """The days from `first` to `last` (inclusive) that have a valid row."""
        rows = self.conn.execute(
            "SELECT date FROM daily_prices WHERE date BETWEEN ? AND ? AND is_valid",
            [first, last],
        ).fetchall()
        return {row[0] for row in rows}

    def dates_without_exchange_price(self, first: date, last: date) -> list[date]:
        """The stored days from `first` to `last` without exchange price."""
        rows = self.conn.execute(
            "SELECT date FROM daily_prices WHERE date BETWEEN ? AND ?"
            " AND exchange_price IS NULL ORDER BY date",
            [first, last],
        ).fetchall()
        return [row[0] for row in rows]

    def set_exchange_price(self, day: date, exchange_price: float) -> None:
        """Record the exchange price of a stored day and its difference to the on-chain price."""
        row = self.conn.execute(
            "SELECT utxoracle_price FROM daily_prices WHERE date = ?", [day]
        ).fetchone()
        if row is None:
            return
        difference, percent = compare_prices(row[0], exchange_price)
        self.conn.execute(
            "UPDATE daily_prices SET exchange_price = ?, price_difference = ?, avg_pct_diff = ?"
            " WHERE date = ?",
            [exchange_price, difference, percent, day],
        )
        self.changed = True


_writer_locks: dict[Path, threading.RLock] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(path: Path) -> threading.RLock:
    """The lock that keeps this process's threads from writing the same store at once: DuckDB
    lets them share the file's one database, whose snapshot each of them would publish."""
    with _writer_locks_guard:
        return _writer_locks.setdefault(path.resolve(), threading.RLock())


def _connect_for_write(path: Path, timeout: float) -> duckdb.DuckDBPyConnection:
    """Open the store for writing, retrying while another process holds the lock."""
    import duckdb

    deadline = time.monotonic() + timeout
    delay = 0.02
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise StoreUnavailable(f"cannot open {path}: {exc}") from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreUnavailable(
                    f"{path} stayed locked by another writer for {timeout:g} s"
                ) from exc
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.5)


@contextmanager
def open_writer(
    path: Path | None = None, *, lock_timeout: float = WRITE_LOCK_TIMEOUT
) -> Iterator[PriceWriter]:
    """Hold the store's write lock for a short unit of work, then publish a snapshot.

    The schema is brought up to date first. A snapshot is published when the work changed
    something (even if it failed afterwards, so readers see what was committed) or when none
    exists yet.
    """
    path = path or store_path()
    lock = _writer_lock(path)
    if not lock.acquire(timeout=lock_timeout):
        raise StoreUnavailable(f"{path} stayed locked by another writer for {lock_timeout:g} s")
    try:
        conn = _connect_for_write(path, lock_timeout)
        try:
            writer = PriceWriter(conn, apply_migrations(conn))
            try:
                yield writer
            finally:
                if writer.changed or _read_pointer(snapshot_dir(path)) is None:
                    publish_snapshot(conn, path)
        finally:
            conn.close()
    finally:
        lock.release()


def migrate(path: Path | None = None) -> list[int]:
    """Create or upgrade the store's schema (publishing a snapshot if it changed or none exists);
    return the versions applied."""
    with open_writer(path) as writer:
        return writer.applied


def publish_snapshot(conn: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """Checkpoint the store, copy it to a new snapshot and point CURRENT at that copy.

    Called with the write lock held, so the file cannot change during the copy. The previous
    snapshot is kept (a reader may be opening it); older ones are removed.
    """
    conn.execute("CHECKPOINT")
    directory = snapshot_dir(path)
    directory.mkdir(parents=True, exist_ok=True)
    previous = _read_pointer(directory)
    name = f"{time.time_ns()}.duckdb"
    with path.open("rb") as source, (directory / name).open("wb") as target:
        shutil.copyfileobj(source, target, 1024 * 1024)
        target.flush()
        os.fsync(target.fileno())
    pointer = directory / f"{SNAPSHOT_POINTER}.{os.getpid()}.tmp"
    with pointer.open("w") as handle:
        handle.write(name)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(pointer, directory / SNAPSHOT_POINTER)
    for entry in directory.iterdir():
        if entry.name not in {name, previous, SNAPSHOT_POINTER}:
            entry.unlink(missing_ok=True)
    return directory / name


# --- readers --------------------------------------------------------------------------------


def _read_pointer(directory: Path) -> str | None:
    """The file name CURRENT points at, or None when nothing was published yet."""
    try:
        name = (directory / SNAPSHOT_POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreUnavailable(f"cannot read {directory / SNAPSHOT_POINTER}: {exc}") from exc
    if not _SNAPSHOT_NAME.match(name):
        raise StoreUnavailable(f"{directory / SNAPSHOT_POINTER} does not name a snapshot")
    return name


class SnapshotReader:
    """One read-only connection per process to the current snapshot of a store, and the results
    computed from that snapshot (it never changes, so they stay right until the next one)."""

    def __init__(self, directory: Path, memo_size: int = MEMO_SIZE) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._name: str | None = None
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._memo_name: str | None = None
        self._memo: OrderedDict[Hashable, Any] = OrderedDict()
        self._memo_size = memo_size

    def lookup(self, key: Hashable) -> tuple[str | None, Any]:
        """(the current snapshot's name, the result kept for `key` from it, or MISSING)."""
        name = _read_pointer(self.directory)
        with self._lock:
            if name != self._memo_name:
                self._memo_name = name
                self._memo.clear()
            elif key in self._memo:
                self._memo.move_to_end(key)
                return name, self._memo[key]
        return name, MISSING

    def remember(self, name: str | None, key: Hashable, value: Any) -> None:
        """Keep `value` for `key` if it was computed from the snapshot still current."""
        with self._lock:
            if name == self._memo_name:
                self._memo[key] = value
                while len(self._memo) > self._memo_size:
                    self._memo.popitem(last=False)

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`'s result for `key`, computed once per published snapshot."""
        name, value = self.lookup(key)
        if value is MISSING:
            value = compute()
            self.remember(name, key, value)
        return value

    def cursor(self) -> duckdb.DuckDBPyConnection | None:
        """A new cursor on the current snapshot, or None when no snapshot exists yet.

        The previous connection is not closed: cursors still using it keep it alive and it goes
        away with the last of them.
        """
        import duckdb

        for _ in range(_OPEN_ATTEMPTS):
            name = _read_pointer(self.directory)
            if name is None:
                return None
            with self._lock:
                if name != self._name:
                    try:
                        conn = duckdb.connect(str(self.directory / name), read_only=True)
                    except duckdb.Error as exc:
                        if not (self.directory / name).exists():
                            continue  # replaced and removed meanwhile: read CURRENT again
                        raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
                    self._name, self._conn = name, conn
                assert self._conn is not None
                return self._conn.cursor()
        raise StoreUnavailable("the snapshot kept changing while it was being opened")


def current_snapshot(path: Path | None = None) -> str | None:
    """The name of the published snapshot (None before the first): it changes after every write,
    so a watcher reads the store only when it did."""
    return _read_pointer(snapshot_dir(path or store_path()))


@functools.cache
def _reader(directory: Path) -> SnapshotReader:
    return SnapshotReader(directory)


def per_snapshot(key: Hashable, compute: Callable[[], T], path: Path | None = None) -> T:
    """Reuse `compute()`'s result for `key` until a newer snapshot is published."""
    return _reader(snapshot_dir(path or store_path())).memo(key, compute)


async def per_snapshot_async(
    key: Hashable, compute: Callable[[], T], path: Path | None = None
) -> T:
    """`per_snapshot` for the event loop: a kept result is returned on the loop (a request then
    costs no thread); only a new snapshot's first request computes it, in a worker thread."""
    from asgiref.sync import sync_to_async

    reader = _reader(snapshot_dir(path or store_path()))
    name, value = reader.lookup(key)
    if value is MISSING:
        value = await sync_to_async(compute, thread_sensitive=False)()
        reader.remember(name, key, value)
    return value


def snapshot_time(path: Path | None = None) -> datetime | None:
    """When the current snapshot was published (UTC), None before the first: every write
    publishes one, so nothing in the store changed since."""
    name = current_snapshot(path)
    if name is None:
        return None
    return datetime.fromtimestamp(int(name.removesuffix(".duckdb")) / 1e9, UTC)


@contextmanager
def snapshot_cursor(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A cursor on the newest published snapshot (None: nothing published, an empty series).

    Any DuckDB error inside the block becomes StoreUnavailable.
    """
    import duckdb

    cursor = _reader(snapshot_dir(path or store_path())).cursor()
    try:
        yield cursor
    except duckdb.Error as exc:
        raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
    finally:
        if cursor is not None:
            cursor.close()


def utc_now() -> datetime:
    """The current time as a naive UTC datetime, the store's timestamp convention."""
    return datetime.now(UTC).replace(tzinfo=None)
