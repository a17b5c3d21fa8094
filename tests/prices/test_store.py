"""The DuckDB store on real files: schema, the validity rule of writes, snapshots and locks."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from prices import selectors
from prices.store import (
    SCHEMA_VERSION,
    SNAPSHOT_POINTER,
    SaveOutcome,
    SnapshotReader,
    StoreUnavailable,
    compare_prices,
    migrate,
    open_writer,
    per_snapshot,
    schema_version,
    snapshot_cursor,
    snapshot_dir,
)
from tests.prices.builders import block_records, day_record, invalid
from tests.support import PYTHON

DAY = date(2025, 1, 1)


def test_a_store_that_does_not_exist_is_an_empty_series(store_file: Path) -> None:
    assert selectors.latest_day() is None
    assert selectors.days_between(DAY, DAY + timedelta(days=9)) == []
    assert selectors.blocks_of_day(DAY) == []
    assert selectors.day_record(DAY) is None
    stats = selectors.comparison_stats(DAY, DAY)
    assert (stats.total_entries, stats.valid_entries, stats.avg_diff) == (0, 0, None)
    assert selectors.missing_price_dates(3, today=DAY) == [
        date(2024, 12, 29),
        date(2024, 12, 30),
        date(2024, 12, 31),
    ]
    with pytest.raises(StoreUnavailable, match="no price store"):
        selectors.ping_price_store()
    assert not store_file.parent.exists()  # reading never creates anything


def test_migrate_creates_the_schema_once_and_publishes_a_snapshot(store_file: Path) -> None:
    assert migrate() == list(range(1, SCHEMA_VERSION + 1))
    assert migrate() == []
    with duckdb.connect(str(store_file), read_only=True) as conn:
        assert schema_version(conn) == SCHEMA_VERSION
    selectors.ping_price_store()
    assert selectors.latest_day() is None


def test_a_newer_schema_than_the_code_is_refused(store_file: Path) -> None:
    migrate()
    with duckdb.connect(str(store_file)) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    with pytest.raises(StoreUnavailable, match="newer than this code"), open_writer():
        pass


def test_a_migration_that_fails_leaves_the_file_as_it_was(store_file: Path) -> None:
    store_file.parent.mkdir(parents=True)
    with duckdb.connect(str(store_file)) as conn:
        conn.execute("CREATE TABLE daily_prices (anything INTEGER)")
    with pytest.raises(StoreUnavailable, match="schema version 1 could not be applied"):
        migrate()
    with duckdb.connect(str(store_file), read_only=True) as conn:
        assert schema_version(conn) == 0


def test_saving_a_day_creates_then_replaces_it_with_its_blocks(store_file: Path) -> None:
    with open_writer() as writer:
        assert writer.save_day(day_record(DAY), block_records(DAY, 3)) is SaveOutcome.CREATED
        newer = day_record(DAY, price=64_000.0)
        assert writer.save_day(newer, block_records(DAY, 2)) is SaveOutcome.REPLACED
    assert selectors.latest_day() == newer
    assert selectors.blocks_of_day(DAY) == block_records(DAY, 2)


def test_an_invalid_result_never_replaces_a_valid_row(store_file: Path) -> None:
    valid = day_record(DAY)
    with open_writer() as writer:
        writer.save_day(valid, block_records(DAY, 3))
        outcome = writer.save_day(invalid(day_record(DAY, price=1_000.0)), [])
    assert outcome is SaveOutcome.KEPT_VALID
    assert selectors.day_record(DAY) == valid
    assert selectors.blocks_of_day(DAY) == block_records(DAY, 3)


def test_an_invalid_row_is_replaced_by_a_valid_or_another_invalid_result(store_file: Path) -> None:
    with open_writer() as writer:
        writer.save_day(invalid(day_record(DAY, price=1_000.0)), [])
        second = invalid(day_record(DAY, price=2_000.0), "price 2,000.00 outside")
        assert writer.save_day(second, []) is SaveOutcome.REPLACED
        assert selectors.day_record(DAY) is None  # not published until the writer closes
    assert selectors.day_record(DAY) == second
    with open_writer() as writer:
        assert writer.save_day(day_record(DAY), []) is SaveOutcome.REPLACED
    assert selectors.day_record(DAY).is_valid


def test_recomputing_the_same_day_is_idempotent(store_file: Path) -> None:
    record, blocks = day_record(DAY), block_records(DAY, 5)
    for _ in range(3):
        with open_writer() as writer:
            writer.save_day(record, blocks)
    assert selectors.days_between(DAY, DAY) == [record]
    assert selectors.blocks_of_day(DAY) == blocks


def test_a_failed_save_leaves_the_previous_row(store_file: Path) -> None:
    first = day_record(DAY)
    with open_writer() as writer:
        writer.save_day(first, block_records(DAY, 2))
        broken = first._replace(price_point_count=None)  # violates NOT NULL
        with pytest.raises(duckdb.ConstraintException):
            writer.save_day(broken, block_records(DAY, 4))
    assert selectors.day_record(DAY) == first
    assert selectors.blocks_of_day(DAY) == block_records(DAY, 2)


def test_exchange_prices_can_be_filled_in_later(store_file: Path) -> None:
    with open_writer() as writer:
        writer.save_day(day_record(DAY, exchange_price=None), [])
        writer.save_day(day_record(DAY + timedelta(days=1)), [])
        writer.save_day(invalid(day_record(DAY + timedelta(days=2), exchange_price=None)), [])
        wanted = writer.dates_without_exchange_price(DAY, DAY + timedelta(days=5))
        assert wanted == [DAY, DAY + timedelta(days=2)]
        writer.set_exchange_price(DAY, 63_630.0)
        writer.set_exchange_price(DAY - timedelta(days=1), 1.0)  # no such row: nothing happens
        wanted = writer.dates_without_exchange_price(DAY, DAY + timedelta(days=5))
        assert wanted == [DAY + timedelta(days=2)]
    record = selectors.day_record(DAY)
    assert (record.exchange_price, record.price_difference, record.avg_pct_diff) == (
        63_630.0,
        630.0,
        1.0,
    )
    assert selectors.day_record(DAY - timedelta(days=1)) is None


def test_compare_prices() -> None:
    assert compare_prices(50_000.0, 50_500.0) == (500.0, 1.0)
    assert compare_prices(50_000.0, 49_000.0) == (-1000.0, -2.0)
    assert compare_prices(1.0, None) == (None, None)
    assert compare_prices(0.0, 1.0) == (None, None)


def test_a_reader_keeps_its_snapshot_until_a_newer_one_is_published(store_file: Path) -> None:
    with open_writer() as writer:
        writer.save_day(day_record(DAY), [])
    with snapshot_cursor() as old_cursor:
        with open_writer() as writer:
            writer.save_day(day_record(DAY + timedelta(days=1)), [])
            assert selectors.latest_day().date == DAY  # the write is not visible yet
        assert old_cursor.execute("SELECT count(*) FROM daily_prices").fetchone() == (1,)
    assert selectors.latest_day().date == DAY + timedelta(days=1)


def test_only_the_current_and_the_previous_snapshot_are_kept(store_file: Path) -> None:
    for days in range(4):
        with open_writer() as writer:
            writer.save_day(day_record(DAY + timedelta(days=days)), [])
    names = sorted(p.name for p in snapshot_dir(store_file).iterdir())
    assert len(names) == 3 and SNAPSHOT_POINTER in names


def test_a_write_that_changes_nothing_publishes_nothing(store_file: Path) -> None:
    migrate()
    pointer = snapshot_dir(store_file) / SNAPSHOT_POINTER
    published = pointer.read_text()
    with open_writer() as writer:
        writer.valid_dates(DAY, DAY)
        writer.set_exchange_price(DAY, 1.0)  # no such day
    assert migrate() == []
    assert pointer.read_text() == published


def test_a_damaged_snapshot_makes_the_store_unavailable(store_file: Path) -> None:
    migrate()
    directory = snapshot_dir(store_file)
    (directory / "7.duckdb").write_bytes(b"not a database" * 100)
    (directory / SNAPSHOT_POINTER).write_text("7.duckdb")
    with pytest.raises(StoreUnavailable, match="not a valid DuckDB"):
        selectors.latest_day()
    (directory / SNAPSHOT_POINTER).write_text("../../etc/passwd")
    with pytest.raises(StoreUnavailable, match="does not name a snapshot"):
        selectors.ping_price_store()
    (directory / SNAPSHOT_POINTER).unlink()
    (directory / SNAPSHOT_POINTER).mkdir()
    with pytest.raises(StoreUnavailable, match="cannot read"):
        selectors.latest_day()


def test_a_snapshot_that_keeps_vanishing_is_reported(store_file: Path) -> None:
    migrate()
    (snapshot_dir(store_file) / SNAPSHOT_POINTER).write_text("8.duckdb")
    with pytest.raises(StoreUnavailable, match="kept changing"):
        selectors.latest_day()


def test_a_query_error_becomes_store_unavailable(store_file: Path) -> None:
    migrate()
    with pytest.raises(StoreUnavailable, match="CatalogException"), snapshot_cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")


def _hold_write_lock(path: Path, seconds: float) -> subprocess.Popen:
    """Another process that holds the store's write lock for `seconds`."""
    holder = subprocess.Popen(
        [
            PYTHON,
            "-c",
            "import duckdb, sys, time\n"
            "conn = duckdb.connect(sys.argv[1])\n"
            "print('locked', flush=True)\n"
            "time.sleep(float(sys.argv[2]))\n",
            str(path),
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_writer_waits_while_another_process_holds_the_lock(store_file: Path) -> None:
    migrate()
    holder = _hold_write_lock(store_file, 1.0)
    try:
        with open_writer(lock_timeout=20) as writer:
            assert holder.poll() is not None  # we only got in once the other writer was gone
            writer.save_day(day_record(DAY), [])
    finally:
        holder.wait()
    assert selectors.latest_day().date == DAY


def test_a_writer_gives_up_after_the_lock_timeout(store_file: Path) -> None:
    migrate()
    holder = _hold_write_lock(store_file, 5.0)
    try:
        with pytest.raises(StoreUnavailable, match="stayed locked"), open_writer(lock_timeout=0.3):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_an_unusable_store_file_is_reported(store_file: Path) -> None:
    store_file.parent.mkdir(parents=True)
    store_file.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreUnavailable, match="cannot open"), open_writer():
        pass


def test_results_are_reused_until_a_new_snapshot_is_published(store_file: Path) -> None:
    calls = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert per_snapshot("k", compute) == 1 and per_snapshot("k", compute) == 1  # nothing published
    migrate()
    assert per_snapshot("k", compute) == 2 and per_snapshot("k", compute) == 2
    assert per_snapshot("other", compute) == 3
    with open_writer() as writer:
        writer.save_day(day_record(DAY), [])
    assert per_snapshot("k", compute) == 4


def test_the_reuse_is_bounded(store_file: Path) -> None:
    migrate()
    reader = SnapshotReader(snapshot_dir(store_file), memo_size=2)
    for key in "abc":
        reader.memo(key, lambda key=key: key)
    assert reader.memo("a", lambda: "recomputed") == "recomputed"
    assert reader.memo("c", lambda: "recomputed") == "c"
