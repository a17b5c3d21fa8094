"""Fixtures for the health tests: stub upstreams and settings that point every check at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from health.monitor import get_monitor
from tests.health.price_store import complete_store
from tests.health.upstreams import RPC_PASSWORD, RPC_USER, Upstreams

CHECK_TIMEOUT = 3.0  # a hung stub is given up after this; a healthy one answers far sooner
# Checks registered by the alerts and prices apps are tested with those apps.
OTHER_APPS_CHECKS = ("mempool_feed", "price_freshness")


@pytest.fixture
async def async_orm():
    """For tests using the async ORM: close the connection its worker thread opened."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def upstreams() -> Iterator[Upstreams]:
    stubs = Upstreams().start()
    yield stubs
    stubs.stop()


@pytest.fixture
def stack(settings, tmp_path: Path, upstreams: Upstreams) -> Iterator[Upstreams]:
    """Every check pointed at a stub or a real local store, all answering well; a fresh monitor."""
    settings.ELECTRS_URL = upstreams.url("electrs")
    settings.ELECTRS_CONFIGURED = True
    settings.MEMPOOL_URL = upstreams.url("mempool")
    settings.BITCOIN_RPC_URL = upstreams.url("rpc")
    settings.BITCOIN_RPC_CONFIGURED = True
    settings.BITCOIN_RPC_COOKIE_FILE = None
    settings.BITCOIN_RPC_USER, settings.BITCOIN_RPC_PASSWORD = RPC_USER, RPC_PASSWORD
    settings.REDIS_URL = None
    settings.DUCKDB_PATH = complete_store(tmp_path / "prices.duckdb")
    settings.HEALTH_CHECK_TIMEOUT = CHECK_TIMEOUT
    settings.HEALTH_CACHE_SECONDS = 5.0
    settings.HEALTH_GAP_DAYS = 7
    settings.HEALTH_DISABLED_CHECKS = OTHER_APPS_CHECKS
    get_monitor.cache_clear()
    yield upstreams
    get_monitor.cache_clear()
