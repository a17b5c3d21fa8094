"""A block source must prove it can give a right price before it is used: the network (mainnet
only), initial block download, pruning; and Core's REST interface and error shapes, all against
the chain simulator behaving as the real node does."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

import pytest
from django.core.management import call_command
from django.test import override_settings

from prices.utxoracle.engine import compute_day_price
from prices.utxoracle.sources import (
    BitcoindSource,
    BlockSourceError,
    FallbackSource,
    WrongSource,
    block_source_from_settings,
)
from simulators.chain import SimulatedChain, SimulatorServer
from tests.prices.helpers import esplora_source, rpc_at, rpc_source
from tests.support import StubServer, json_response

DAY = date(2025, 1, 1)
NETWORKS = [("test", "testnet3"), ("testnet4", "testnet4"), ("signet", "signet")]
NETWORKS.append(("regtest", "regtest"))


@pytest.mark.parametrize(("chain", "name"), NETWORKS)
@pytest.mark.parametrize("make", [rpc_source, esplora_source])
def test_a_source_on_another_network_is_refused_with_its_name(
    serve: Callable[..., SimulatorServer],
    day_chain: SimulatedChain,
    make: Callable,
    chain: str,
    name: str,
) -> None:
    source = make(serve(day_chain, network=chain))
    with pytest.raises(WrongSource, match=f"it serves {name}, not mainnet"):
        compute_day_price(DAY, source, workers=1)


def test_mainnet_is_proven_once(day_server: SimulatorServer) -> None:
    source = esplora_source(day_server)
    source.check_ready()
    assert source.network == "main"
    source.client.base_url = "http://127.0.0.1:9"  # nothing answers there any more
    source.check_ready()  # remembered: no new request


def test_a_node_in_initial_block_download_is_refused(
    serve: Callable[..., SimulatorServer], day_chain: SimulatedChain
) -> None:
    source = rpc_source(serve(day_chain, initial_block_download=True))
    with pytest.raises(WrongSource, match="still in initial block download"):
        compute_day_price(DAY, source, workers=1)


def test_a_node_pruned_below_the_day_is_refused(
    serve: Callable[..., SimulatorServer], day_chain: SimulatedChain
) -> None:
    above_the_day = day_chain.tip - 2
    source = rpc_source(serve(day_chain, prune_height=above_the_day))
    with pytest.raises(WrongSource, match=f"keeps blocks from height {above_the_day:,} only"):
        compute_day_price(DAY, source, workers=1)
    kept = rpc_source(serve(day_chain, prune_height=day_chain.params.base_height))
    assert compute_day_price(DAY, kept, workers=1).block_count > 0


def test_a_fallback_goes_on_to_a_mainnet_source(
    serve: Callable[..., SimulatorServer], day_chain: SimulatedChain, day_server: SimulatorServer
) -> None:
    testnet = rpc_source(serve(day_chain, network="test"))
    result = compute_day_price(
        DAY, FallbackSource([testnet, esplora_source(day_server)]), workers=1
    )
    assert result.source == "esplora"
    with pytest.raises(WrongSource, match="all sources failed"):
        compute_day_price(DAY, FallbackSource([testnet, testnet]), workers=1)


def test_oracle_price_refuses_a_testnet_node_with_exit_2(
    serve: Callable[..., SimulatorServer], day_chain: SimulatedChain
) -> None:
    server = serve(day_chain, network="test")
    err = io.StringIO()
    with (
        override_settings(ELECTRS_URL=server.url, PRICE_SOURCE=("esplora",)),
        pytest.raises(SystemExit) as exit_status,
    ):
        call_command("oracle_price", "--date", DAY.isoformat(), "--workers", "1", stderr=err)
    assert exit_status.value.code == 2
    assert err.getvalue().startswith("oracle_price: source refused: block source esplora failed")
    assert "it serves testnet3, not mainnet" in err.getvalue()


def test_blocks_come_through_rest_when_the_node_serves_it(
    serve: Callable[..., SimulatorServer], day_chain: SimulatedChain
) -> None:
    server = serve(day_chain, rest=True)
    source = rpc_source(server)
    ref = source.block_ref(day_chain.params.base_height + 2)
    assert source.raw_block(ref) == day_chain.block(ref.height)
    assert source.client.use_rest is True
    without = rpc_source(serve(day_chain))
    assert without.raw_block(ref) == day_chain.block(ref.height)
    assert without.client.use_rest is False


def test_a_pruned_block_says_so(
    serve: Callable[..., SimulatorServer], day_chain: SimulatedChain
) -> None:
    for rest in (True, False):
        source = rpc_source(serve(day_chain, prune_height=day_chain.tip, rest=rest))
        ref = source.block_ref(day_chain.params.base_height)
        with pytest.raises(BlockSourceError, match="RPC error -1: Block not available \\(pruned"):
            source.raw_block(ref)


def test_an_rpc_whitelist_denial_is_not_called_a_bad_password(
    serve: Callable[..., SimulatorServer], day_chain: SimulatedChain
) -> None:
    server = serve(day_chain, rpc_whitelist=frozenset({"getblockcount"}))
    source = rpc_source(server)
    assert source.tip_height() == day_chain.tip
    with pytest.raises(BlockSourceError, match="RPC method not allowed by -rpcwhitelist"):
        source.check_ready()


def test_a_400_keeps_cores_message() -> None:
    invalid = {"result": None, "error": {"code": -32600, "message": "Params must be an array"}}
    stub = StubServer(lambda hit: json_response({**invalid, "id": 0}, 400)).start()
    try:
        source = rpc_at(stub.port)
        with pytest.raises(BlockSourceError, match="RPC error -32600: Params must be an array"):
            source.tip_height()
    finally:
        stub.stop()


def test_a_rewritten_cookie_is_read_again(
    serve: Callable[..., SimulatorServer], day_chain: SimulatedChain
) -> None:
    server = serve(day_chain)
    source = rpc_source(server)
    assert source.tip_height() == day_chain.tip
    server.credentials.add("__cookie__:" + "ab" * 32)  # the node restarted with a new cookie
    server.credentials.discard(server.cookie_file.read_text())
    server.cookie_file.write_text("__cookie__:" + "ab" * 32)
    assert source.tip_height() == day_chain.tip


def test_auto_uses_core_first_and_esplora_otherwise(day_server: SimulatorServer) -> None:
    with override_settings(
        PRICE_SOURCE=("auto",),
        BITCOIN_RPC_URL=day_server.url,
        BITCOIN_RPC_COOKIE_FILE=day_server.cookie_file,
        ELECTRS_URL=day_server.url,
    ):
        source = block_source_from_settings()
    assert isinstance(source, FallbackSource) and source.name == "bitcoind,esplora"
    assert isinstance(source.sources[0], BitcoindSource)
    assert compute_day_price(DAY, source, workers=1).source == "bitcoind"
