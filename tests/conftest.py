"""Project-wide fixtures and markers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simulators.mempool import MempoolSimulator
from tests.browser import chrome
from tests.support import JsonLogCapture, capture_json_logs


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that touches the Django database `app_db` (re-run on PostgreSQL in CI)."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") or fixtures & {
            "db",
            "transactional_db",
            "admin_client",
            "admin_user",
            "django_user_model",
        }:
            item.add_marker(pytest.mark.app_db)


MIDNIGHT_MARGIN_SECONDS = 60.0


@pytest.fixture(autouse=True)
def _one_utc_day() -> None:
    """Many tests are about "today" and "yesterday" (UTC): a test that would start in the last
    minute of a UTC day waits for the next one, so that its day does not change under it."""
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    left = (midnight - now).total_seconds()
    if left < MIDNIGHT_MARGIN_SECONDS:
        time.sleep(left + 1)


@pytest.fixture
def json_logs() -> Iterator[JsonLogCapture]:
    """Everything logged during the test, rendered as the production JSON lines."""
    with capture_json_logs() as capture:
        yield capture


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium session (tests using it are marked `browser` and `needs_chromium`)."""
    driver = chrome()
    yield driver
    driver.quit()


@pytest.fixture
async def simulator() -> AsyncIterator[MempoolSimulator]:
    """The mempool backend simulator on a free loopback port."""
    sim = await MempoolSimulator().start()
    yield sim
    await sim.stop()
