"""Fixtures of the prices tests: simulated chains served over real loopback HTTP, block sources,
a throw-away price store per test and the mempool backend's price endpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from prices.selectors import utc_today
from simulators.chain import ChainParams, Faults, SimulatedChain, SimulatorServer
from tests.prices.helpers import GOLDEN_PARAMS
from tests.prices.upstreams import CHAIN_DAYS, MempoolStub, recent_chain


@pytest.fixture(scope="session")
def golden_chain() -> SimulatedChain:
    return SimulatedChain(GOLDEN_PARAMS)


@pytest.fixture(scope="session")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SimulatorServer]]:
    """Start a SimulatorServer (with an RPC cookie file; `node` options such as network, rest,
    prune_height) for a chain; all stop at session end."""
    servers: list[SimulatorServer] = []

    def start(chain: SimulatedChain, faults: Faults | None = None, **node: Any) -> SimulatorServer:
        cookie = tmp_path_factory.mktemp("rpc") / ".cookie"
        server = SimulatorServer(chain, cookie_file=cookie, faults=faults, **node).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def golden_server(
    golden_chain: SimulatedChain, serve: Callable[..., SimulatorServer]
) -> SimulatorServer:
    return serve(golden_chain)


@pytest.fixture(scope="session")
def day_chain() -> SimulatedChain:
    """A light chain for tests that need a working day rather than exact golden numbers."""
    return SimulatedChain(ChainParams(txs_per_block=60, seed=5))


@pytest.fixture(scope="session")
def day_server(day_chain: SimulatedChain, serve: Callable[..., SimulatorServer]) -> SimulatorServer:
    return serve(day_chain)


@pytest.fixture
def store_file(tmp_path: Path, settings) -> Path:
    """settings.DUCKDB_PATH pointed at a file (not created) in the test's own folder."""
    path = tmp_path / "store" / "prices.duckdb"
    settings.DUCKDB_PATH = path
    return path


@pytest.fixture(scope="session")
def serve_recent(serve: Callable[..., SimulatorServer]) -> Callable[..., SimulatorServer]:
    """Serve `recent_chain(days, **overrides)`: one server per UTC day and arguments, so that a
    test started after midnight gets a chain that ends on its own yesterday."""
    servers: dict[tuple, SimulatorServer] = {}

    def start(days: int = CHAIN_DAYS, **overrides: Any) -> SimulatorServer:
        key = (utc_today(), days, tuple(sorted(overrides.items())))
        if key not in servers:
            servers[key] = serve(recent_chain(days, **overrides))
        return servers[key]

    return start


@pytest.fixture
def chain_server(serve_recent: Callable[..., SimulatorServer]) -> SimulatorServer:
    """The simulated chain of the last CHAIN_DAYS complete days (ending yesterday, UTC)."""
    return serve_recent()


@pytest.fixture
def chain(chain_server: SimulatorServer, settings) -> SimulatorServer:
    """The recent chain, configured as the service's block source."""
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
