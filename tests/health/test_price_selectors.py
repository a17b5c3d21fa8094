"""prices.selectors: the gap query and the store ping, on real DuckDB files."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from prices.selectors import PriceStoreLocked, missing_price_dates, ping_price_store
from tests.health.price_store import release, write_lock_held, write_store

TODAY = date(2024, 5, 10)


@pytest.fixture
def store_path(settings, tmp_path: Path) -> Path:
    settings.DUCKDB_PATH = tmp_path / "prices.duckdb"
    return settings.DUCKDB_PATH


def days_before(today: date, *backs: int) -> list[date]:
    return [today - timedelta(days=back) for back in backs]


def test_a_store_that_does_not_exist_yet_misses_every_day_and_is_not_created(store_path) -> None:
    assert missing_price_dates(3, TODAY) == days_before(TODAY, 3, 2, 1)
    ping_price_store()
    assert not store_path.exists()


def test_a_store_without_the_table_misses_every_day(store_path) -> None:
    duckdb.connect(str(store_path)).close()
    assert missing_price_dates(2, TODAY) == days_before(TODAY, 2, 1)


def test_today_is_never_a_gap_and_valid_days_are_not_gaps(store_path) -> None:
    write_store(store_path, [(d, True) for d in days_before(TODAY, 3, 2, 1)])
    assert missing_price_dates(3, TODAY) == []
    # Tomorrow, today (without a row) is complete and missing; the day that left the window is not.
    assert missing_price_dates(3, TODAY + timedelta(days=1)) == [TODAY]


def test_an_invalid_or_unknown_row_is_a_gap(store_path) -> None:
    write_store(store_path, [(TODAY - timedelta(days=1), False), (TODAY - timedelta(days=2), None)])
    assert missing_price_dates(2, TODAY) == days_before(TODAY, 2, 1)


def test_the_window_is_exactly_the_last_n_complete_days(store_path) -> None:
    write_store(store_path, [(d, True) for d in days_before(TODAY, 8, 1)])
    # The oldest day of a 7-day window is TODAY - 7; TODAY - 8 lies outside it.
    assert missing_price_dates(7, TODAY) == days_before(TODAY, 7, 6, 5, 4, 3, 2)
    assert missing_price_dates(8, TODAY) == days_before(TODAY, 7, 6, 5, 4, 3, 2)
    assert missing_price_dates(0, TODAY) == []


def test_the_default_today_is_the_current_utc_day(store_path) -> None:
    assert missing_price_dates(1) == [datetime.now(UTC).date() - timedelta(days=1)]


def test_ping_answers_on_a_real_store(store_path) -> None:
    write_store(store_path)
    ping_price_store()


def test_a_file_that_is_not_a_store_raises(store_path) -> None:
    store_path.write_bytes(b"definitely not duckdb " * 100)
    with pytest.raises(duckdb.Error, match="not a valid DuckDB database"):
        ping_price_store()
    with pytest.raises(duckdb.Error):
        missing_price_dates(7, TODAY)


def test_a_writer_holding_the_lock_past_the_wait_is_reported(store_path) -> None:
    write_store(store_path)
    with write_lock_held(store_path):
        started = time.monotonic()
        with pytest.raises(PriceStoreLocked, match=r"locked by a writer \(waited 0.2 s\)"):
            ping_price_store(lock_wait=0.2)
        assert 0.2 <= time.monotonic() - started < 1.0
        with pytest.raises(PriceStoreLocked):
            missing_price_dates(7, TODAY)


def test_a_short_write_is_waited_for(store_path) -> None:
    write_store(store_path, [(TODAY - timedelta(days=1), True)])
    with write_lock_held(store_path) as writer:
        threading.Timer(0.2, release, [writer]).start()
        assert missing_price_dates(1, TODAY, lock_wait=5) == []
