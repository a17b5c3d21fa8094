"""Fixtures of the prices tests: a throw-away store path per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from prices.chain_simulator import SimulatorServer
from tests.prices.upstreams import MempoolStub, recent_chain


@pytest.fixture
def store_file(tmp_path: Path, settings) -> Path:
    """settings.DUCKDB_PATH pointed at a file (not created) in the test's own folder."""
    path = tmp_path / "store" / "prices.duckdb"
    settings.DUCKDB_PATH = path
    return path


@pytest.fixture(scope="session")
def chain_server() -> Iterator[SimulatorServer]:
    """The simulated chain of the last CHAIN_DAYS complete days, served as Esplora and Core RPC."""
    with SimulatorServer(recent_chain()) as server:
        yield server


@pytest.fixture
def chain(chain_server: SimulatorServer, settings) -> SimulatorServer:
    """The simulated chain, configured as the service's block source."""
    settings.ELECTRS_URL = chain_server.url
    settings.PRICE_SOURCE = ("esplora",)
    return chain_server


@pytest.fixture
def mempool(settings) -> Iterator[MempoolStub]:
    """The mempool backend's price endpoints, configured as MEMPOOL_URL."""
    stub = MempoolStub().start()
    settings.MEMPOOL_URL = stub.url
    yield stub
    stub.server.stop()
