"""Fixtures of the oracle tests: simulated chains served over real loopback HTTP, and sources."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from prices.chain_simulator import ChainParams, Faults, SimulatedChain, SimulatorServer
from tests.prices.helpers import GOLDEN_PARAMS


@pytest.fixture(scope="session")
def golden_chain() -> SimulatedChain:
    return SimulatedChain(GOLDEN_PARAMS)


@pytest.fixture(scope="session")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SimulatorServer]]:
    """Start a SimulatorServer (with an RPC cookie file) for a chain; all stop at session end."""
    servers: list[SimulatorServer] = []

    def start(chain: SimulatedChain, faults: Faults | None = None) -> SimulatorServer:
        cookie = tmp_path_factory.mktemp("rpc") / ".cookie"
        server = SimulatorServer(chain, cookie_file=cookie, faults=faults).start()
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
