"""The price_freshness check: degraded once yesterday is due and has no valid row."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from health.base import registered_checks
from oracle.config import ConfigError, load_config
from prices.checks import DEGRADED, OK, price_freshness
from prices.store import SNAPSHOT_POINTER, migrate, open_writer, snapshot_dir
from tests.prices.builders import day_record, invalid

YESTERDAY = date(2025, 3, 9)
HOUR = timedelta(hours=1)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, 10, hour, minute, tzinfo=UTC)


def test_yesterday_is_not_due_before_six_blocks_and_the_grace(store_file: Path) -> None:
    assert price_freshness(at(1, 59), grace=HOUR) == (OK, None)
    assert price_freshness(at(2, 0), grace=HOUR) == (
        DEGRADED,
        "no price for 2025-03-09 (due since 02:00 UTC)",
    )


def test_the_grace_comes_from_settings(store_file: Path, settings) -> None:
    settings.PRICE_FRESHNESS_GRACE_SECONDS = 1800
    assert price_freshness(at(1, 29))[0] == OK
    assert price_freshness(at(1, 30))[0] == DEGRADED


def test_a_valid_yesterday_is_fresh(store_file: Path) -> None:
    with open_writer() as writer:
        writer.save_day(day_record(YESTERDAY), [])
    assert price_freshness(at(23), grace=HOUR) == (OK, None)
    other_zone = at(23).astimezone(datetime.now().astimezone().tzinfo)
    assert price_freshness(other_zone, grace=HOUR) == (OK, None)


def test_an_invalid_yesterday_is_degraded(store_file: Path) -> None:
    with open_writer() as writer:
        writer.save_day(invalid(day_record(YESTERDAY), "deviation 0.3 above 0.2"), [])
    assert price_freshness(at(12), grace=HOUR) == (
        DEGRADED,
        "the price of 2025-03-09 is invalid: deviation 0.3 above 0.2",
    )


def test_an_unreadable_store_is_degraded(store_file: Path) -> None:
    migrate()
    (snapshot_dir(store_file) / SNAPSHOT_POINTER).write_text("garbage")
    status, error = price_freshness(at(12), grace=HOUR)
    assert status == DEGRADED and error.startswith("price store unavailable: ")


def test_the_grace_is_configured_in_seconds(tmp_path: Path) -> None:
    base = {"ORACLE_DATA_DIR": str(tmp_path), "DJANGO_DEBUG": "1"}
    assert load_config(base).price_freshness_grace_seconds == 3600.0
    assert (
        load_config({**base, "PRICE_FRESHNESS_GRACE_SECONDS": "0"}).price_freshness_grace_seconds
        == 0
    )
    with pytest.raises(ConfigError, match="PRICE_FRESHNESS_GRACE_SECONDS must be a number >= 0"):
        load_config({**base, "PRICE_FRESHNESS_GRACE_SECONDS": "-5"})


async def test_the_registered_check_reports_through_health(store_file: Path) -> None:
    check = next(c for c in registered_checks() if c.name == "price_freshness")
    assert not check.critical
    today = datetime.now(UTC).date()
    with open_writer() as writer:
        writer.save_day(invalid(day_record(today - timedelta(days=1)), "too few outputs"), [])
    result = await check.run()
    if datetime.now(UTC) < datetime.combine(today, datetime.min.time(), UTC) + 2 * HOUR:
        assert result.status == "ok"  # yesterday is not due yet
    else:
        assert result.status == "error"
        assert (
            result.error == f"the price of {today - timedelta(days=1)} is invalid: too few outputs"
        )
    with open_writer() as writer:
        writer.save_day(day_record(today - timedelta(days=1)), [])
    assert (await check.run()).status == "ok"
