"""Gap detection at its edges, on real stores: the selector /health uses and what /health says."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from health.monitor import HealthMonitor
from prices.selectors import missing_price_dates
from prices.store import migrate
from tests.health.price_store import write_store

TODAY = date(2024, 5, 10)


def days_before(*backs: int) -> list[date]:
    return [TODAY - timedelta(days=back) for back in backs]


@pytest.fixture
def store(settings, tmp_path: Path) -> Path:
    settings.DUCKDB_PATH = tmp_path / "prices.duckdb"
    return settings.DUCKDB_PATH


def test_an_empty_store_misses_every_complete_day(store: Path) -> None:
    assert missing_price_dates(3, TODAY) == days_before(3, 2, 1)  # nothing published yet
    migrate(store)  # published, still empty
    assert missing_price_dates(3, TODAY) == days_before(3, 2, 1)


def test_today_is_never_a_gap(store: Path) -> None:
    write_store(store, [(day, True) for day in days_before(3, 2, 1)])
    assert missing_price_dates(3, TODAY) == []
    # The next day, today is complete and missing.
    assert missing_price_dates(3, TODAY + timedelta(days=1)) == [TODAY]


def test_an_invalid_row_is_a_gap(store: Path) -> None:
    write_store(store, [(days_before(2)[0], True), (days_before(1)[0], False)])
    assert missing_price_dates(2, TODAY) == days_before(1)


def test_the_window_is_exactly_the_last_n_complete_days(store: Path) -> None:
    write_store(store, [(day, True) for day in days_before(8, 1)])
    assert missing_price_dates(7, TODAY) == days_before(7, 6, 5, 4, 3, 2)
    assert missing_price_dates(8, TODAY) == days_before(7, 6, 5, 4, 3, 2)


async def test_health_reports_the_configured_window(store: Path, settings) -> None:
    settings.HEALTH_GAP_DAYS = 2
    assert await HealthMonitor().missing_dates() == missing_price_dates(2)
    assert len(await HealthMonitor().missing_dates()) == 2
