"""Block sources against the real loopback simulator: answers, and every failure path."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from core.logging import correlation_scope
from prices.utxoracle.parser import block_hash
from prices.utxoracle.sources import (
    BitcoindSource,
    BlockRef,
    BlockSourceError,
    EsploraSource,
    FallbackSource,
    block_source_from_settings,
)
from simulators.chain import Faults, SimulatedChain, SimulatorServer
from tests.prices.helpers import esplora_source, esplora_source_at, rpc, rpc_at, rpc_source
from tests.support import Hit, StubServer, free_port, json_response, text_response

HEIGHT = 870_020


def test_both_sources_answer_the_same(day_server: SimulatorServer) -> None:
    rpc, esplora = rpc_source(day_server), esplora_source(day_server)
    assert rpc.tip_height() == esplora.tip_height() == day_server.chain.tip
    heights = [HEIGHT, HEIGHT + 1, HEIGHT + 7]
    refs = rpc.block_refs(heights)
    assert refs == esplora.block_refs(heights)
    assert [ref.time for ref in refs] == [day_server.chain.block_time(h) for h in heights]
    raw = rpc.raw_block(refs[0])
    assert raw == esplora.raw_block(refs[0]) == day_server.chain.block(HEIGHT)
    assert block_hash(raw) == refs[0].hash
    assert rpc.block_refs([]) == []


def test_rpc_with_user_and_password(day_chain: SimulatedChain) -> None:
    server = SimulatorServer(day_chain, rpc_user="alice", rpc_password="s3cret").start()
    try:
        good = rpc(server.url, user="alice", password="s3cret")
        assert good.tip_height() == day_chain.tip
        bad = rpc(server.url, user="alice", password="wrong")
        with pytest.raises(BlockSourceError) as caught:
            bad.tip_height()
    finally:
        server.stop()
    assert "authentication failed (HTTP 401)" in str(caught.value)
    assert "s3cret" not in str(caught.value) and "wrong" not in str(caught.value)


def test_a_missing_cookie_file_is_named(day_server: SimulatorServer, tmp_path: Path) -> None:
    source = rpc(day_server.url, cookie_file=tmp_path / "absent")
    with pytest.raises(BlockSourceError, match=r"cannot read the RPC cookie file .*absent"):
        source.tip_height()


def test_without_credentials_the_cookie_of_the_data_directory_is_used(
    day_server: SimulatorServer, tmp_path: Path
) -> None:
    with pytest.raises(BlockSourceError, match=r"cannot read the RPC cookie file .*/\.cookie \("):
        rpc(day_server.url, datadir=tmp_path).tip_height()
    (tmp_path / ".cookie").write_text(day_server.cookie_file.read_text())
    assert rpc(day_server.url, datadir=tmp_path).tip_height() == day_server.chain.tip


def test_a_cookie_of_another_network_is_named(day_server: SimulatorServer, tmp_path: Path) -> None:
    (tmp_path / "testnet3").mkdir()
    (tmp_path / "testnet3" / ".cookie").write_text("__cookie__:00")
    with pytest.raises(
        BlockSourceError, match="there is one for test only: is the node on another"
    ):
        rpc(day_server.url, datadir=tmp_path).tip_height()


def test_a_stale_cookie_is_refused(day_server: SimulatorServer, tmp_path: Path) -> None:
    stale = tmp_path / ".cookie"
    stale.write_text("__cookie__:0000")
    with pytest.raises(BlockSourceError, match="at the chain tip: RPC authentication failed"):
        rpc(day_server.url, cookie_file=stale).tip_height()


@pytest.mark.parametrize("make", [rpc_source, esplora_source])
def test_http_500_is_reported(
    serve: Callable[..., SimulatorServer], day_chain: SimulatedChain, make: Callable
) -> None:
    source = make(serve(day_chain, Faults(http_500=True)))
    with pytest.raises(BlockSourceError, match="HTTP 500") as caught:
        source.block_ref(HEIGHT)
    assert caught.value.height == HEIGHT and caught.value.source == source.name


@pytest.mark.parametrize("make", [rpc_at, esplora_source_at])
def test_connection_refused(make: Callable) -> None:
    source = make(free_port())
    with pytest.raises(BlockSourceError, match="connection failed") as caught:
        source.tip_height()
    assert str(caught.value).startswith(f"block source {source.name} failed at the chain tip")


@pytest.mark.parametrize("make", [rpc_source, esplora_source])
def test_timeout(
    serve: Callable[..., SimulatorServer], day_chain: SimulatedChain, make: Callable
) -> None:
    source = make(serve(day_chain, Faults(delay_s=1.0)), read_timeout=0.2)
    with pytest.raises(BlockSourceError, match="timed out"):
        source.tip_height()


def test_rpc_errors_carry_cores_message(day_server: SimulatorServer) -> None:
    source = rpc_source(day_server)
    with pytest.raises(
        BlockSourceError, match=r"getblockhash: RPC error -8: Block height out of range"
    ):
        source.block_ref(day_server.chain.tip + 1)
    with pytest.raises(BlockSourceError, match="RPC error -32601: Method not found"):
        source.call("getmempoolinfo", [])
    with pytest.raises(BlockSourceError, match="RPC error -5: Block not found"):
        source.call("getblock", ["00" * 32, 0], height=5)


def test_esplora_errors(day_server: SimulatorServer) -> None:
    source = esplora_source(day_server)
    with pytest.raises(BlockSourceError, match=r"/block-height/999999999: HTTP 404") as caught:
        source.block_ref(999_999_999)
    assert caught.value.height == 999_999_999


@pytest.fixture
def stub() -> Iterator[StubServer]:
    answers: list = []

    def answer(hit: Hit) -> tuple[int, dict[str, str], bytes]:
        if hit.path.startswith("/rest/"):  # a node without -rest=1
            return text_response("Not found", 404)
        return answers.pop(0) if answers else text_response("?", 404)

    server = StubServer(answer).start()
    server.answers = answers  # type: ignore[attr-defined]
    yield server
    server.stop()


GOOD_HASH = "ab" * 32


@pytest.mark.parametrize(
    ("answers", "call", "reason"),
    [
        ([text_response("tip")], "tip", "not a block height"),
        ([(200, {}, b"\xff\xfe")], "tip", "answer is not text"),
        ([text_response("nothex")], "ref", "not a block hash"),
        ([text_response(GOOD_HASH), text_response("zz")], "ref", "not an 80-byte hex header"),
        ([text_response(GOOD_HASH), text_response("00" * 80)], "ref", "does not hash"),
    ],
)
def test_malformed_esplora_answers(stub: StubServer, answers: list, call: str, reason: str) -> None:
    stub.answers += answers  # type: ignore[attr-defined]
    source = esplora_source_at(stub.port)
    with pytest.raises(BlockSourceError, match=reason):
        source.tip_height() if call == "tip" else source.block_ref(7)


@pytest.mark.parametrize(
    ("answer", "call", "reason"),
    [
        (text_response("<html>", 500), "tip", "HTTP 500"),
        (text_response("not json"), "tip", "RPC answer is not JSON"),
        (json_response({"result": "12"}), "tip", "getblockcount: not an integer"),
        (json_response([1, 2]), "tip", "malformed RPC reply"),
        (json_response({"result": None, "error": "boom"}), "tip", "RPC error: boom"),
        (json_response([{"id": 0, "result": "xyz", "error": None}]), "ref", "not a block hash"),
        (
            json_response({"result": None, "error": {"code": -1, "message": "no batches"}}),
            "ref",
            "no batches",
        ),
        (json_response([]), "ref", "malformed RPC batch reply"),
        (json_response({"result": 5, "error": None, "id": 0}), "raw", "not a hex string"),
        (json_response({"result": "abc", "error": None, "id": 0}), "raw", "not valid hex"),
    ],
)
def test_malformed_rpc_answers(stub: StubServer, answer: tuple, call: str, reason: str) -> None:
    stub.answers.append(answer)  # type: ignore[attr-defined]
    source = rpc_at(stub.port)
    with pytest.raises(BlockSourceError, match=reason):
        if call == "tip":
            source.tip_height()
        elif call == "ref":
            source.block_ref(7)
        else:
            source.raw_block(BlockRef(7, GOOD_HASH, 0))


def test_a_header_without_time(stub: StubServer) -> None:
    stub.answers += [  # type: ignore[attr-defined]
        json_response([{"id": 0, "result": GOOD_HASH, "error": None}]),
        json_response([{"id": 0, "result": {"hash": GOOD_HASH}, "error": None}]),
    ]
    with pytest.raises(BlockSourceError, match="no time in the header"):
        rpc_at(stub.port).block_ref(7)


def test_a_getblock_reply_in_another_shape_still_decodes(stub: StubServer) -> None:
    stub.answers.append(json_response({"id": 0, "error": None, "result": "00ff"}))  # type: ignore[attr-defined]
    assert rpc_at(stub.port).raw_block(BlockRef(7, GOOD_HASH, 0)) == b"\x00\xff"


def test_requests_carry_the_correlation_id(stub: StubServer) -> None:
    stub.answers.append(text_response("5"))  # type: ignore[attr-defined]
    with correlation_scope("cid-oracle-7"):
        esplora_source_at(stub.port).tip_height()
        rpc = rpc_at(stub.port)
    stub.answers.append(json_response({"result": 3, "error": None, "id": 0}))  # type: ignore[attr-defined]
    with correlation_scope("cid-oracle-8"):
        rpc.tip_height()
    assert [hit.headers.get("X-Correlation-ID") for hit in stub.hits] == [
        "cid-oracle-7",
        "cid-oracle-8",
    ]


def test_threads_of_a_batch_keep_the_correlation_id(day_server: SimulatorServer) -> None:
    hits: list[Hit] = []

    def handler(hit: Hit):
        hits.append(hit)
        if hit.path.startswith("/block-height/"):
            height = int(hit.path.rsplit("/", 1)[1])
            return text_response(day_server.chain.block_hash(height))
        height = day_server.chain.height_of(hit.path.split("/")[2])
        return text_response(day_server.chain.header(height).hex())

    proxy = StubServer(handler).start()
    try:
        with correlation_scope("cid-batch"):
            refs = esplora_source_at(proxy.port).block_refs([HEIGHT, HEIGHT + 1, HEIGHT + 2])
    finally:
        proxy.stop()
    assert len(refs) == 3 and len(hits) == 6
    assert {hit.headers.get("X-Correlation-ID") for hit in hits} == {"cid-batch"}


def test_sources_pickle_without_their_session(day_server: SimulatorServer) -> None:
    source = rpc_source(day_server)
    source.tip_height()
    copy = pickle.loads(pickle.dumps(source))
    assert copy.client._session is None and copy.tip_height() == day_server.chain.tip
    error = pickle.loads(pickle.dumps(BlockSourceError("esplora", 5, "HTTP 500")))
    assert (error.source, error.height, error.reason) == ("esplora", 5, "HTTP 500")
    assert "127.0.0.1" in repr(source) and "127.0.0.1" in repr(esplora_source(day_server))


def test_fallback_source_calls(day_server: SimulatorServer) -> None:
    dead = esplora_source_at(free_port())
    fallback = FallbackSource([dead, rpc_source(day_server)])
    assert fallback.name == "esplora,bitcoind"
    assert fallback.tip_height() == day_server.chain.tip
    ref = fallback.block_ref(HEIGHT)
    assert fallback.raw_block(ref) == day_server.chain.block(HEIGHT)
    with pytest.raises(BlockSourceError, match="all sources failed"):
        FallbackSource([dead]).block_refs([HEIGHT])
    with pytest.raises(ValueError):
        FallbackSource([])


def test_sources_from_settings(tmp_path: Path) -> None:
    cookie = tmp_path / ".cookie"
    with override_settings(
        PRICE_SOURCE=("bitcoind", "esplora"),
        ELECTRS_URL="http://127.0.0.1:3999",
        BITCOIN_RPC_URL="http://127.0.0.1:8999",
        BITCOIN_RPC_COOKIE_FILE=cookie,
        HTTP_READ_TIMEOUT=7.0,
    ):
        source = block_source_from_settings()
        single = block_source_from_settings(["esplora"])
    assert isinstance(source, FallbackSource) and source.name == "bitcoind,esplora"
    rpc, esplora = source.sources
    assert (
        isinstance(rpc, BitcoindSource)
        and rpc.client.cookie_file == cookie
        and rpc.client.http.read_timeout == 7.0
    )
    assert isinstance(esplora, EsploraSource)
    assert esplora.client.base_url == "http://127.0.0.1:3999"
    assert isinstance(single, EsploraSource)
    with pytest.raises(ValueError, match="unknown block source"):
        block_source_from_settings(["electrum"])
