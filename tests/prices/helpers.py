"""Helpers shared by the oracle tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.upstreams.bitcoind import BitcoindClient
from core.upstreams.esplora import EsploraClient
from prices.utxoracle.sources import BitcoindSource, EsploraSource, HttpOptions
from simulators.chain import ChainParams, SimulatorServer

FAST_HTTP = HttpOptions(connect_timeout=2.0, read_timeout=10.0, retries=0)

# The chain of the golden vectors (test_reference_golden.py): the simulator's defaults with 100
# transactions per block, as served by `python -m simulators.chain --txs-per-block 100`.
GOLDEN_PARAMS = ChainParams(txs_per_block=100)


def rpc(url: str, **options: Any) -> BitcoindSource:
    """A Bitcoin Core source for a URL (client options: cookie_file, user, password, datadir)."""
    return BitcoindSource(BitcoindClient(url, **{"http": FAST_HTTP, **options}))


def esplora(url: str, http: HttpOptions = FAST_HTTP) -> EsploraSource:
    """An Esplora source for a URL."""
    return EsploraSource(EsploraClient(url, http, service="esplora"))


def rpc_source(server: SimulatorServer, **http: float) -> BitcoindSource:
    """A Bitcoin Core RPC source for a simulator server, authenticated by its cookie file."""
    return rpc(server.url, cookie_file=server.cookie_file, http=replace(FAST_HTTP, **http))


def esplora_source(server: SimulatorServer, **http: float) -> EsploraSource:
    """An Esplora source for a simulator server."""
    return esplora(server.url, replace(FAST_HTTP, **http))


def esplora_source_at(port: int) -> EsploraSource:
    """An Esplora source for a loopback port (where nothing may listen)."""
    return esplora(f"http://127.0.0.1:{port}")


def rpc_at(port: int, **auth: str) -> BitcoindSource:
    """An RPC source with user/password for a loopback port."""
    credentials = auth or {"user": "u", "password": "p"}
    return rpc(f"http://127.0.0.1:{port}", **credentials)
