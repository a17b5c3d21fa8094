"""The chain simulator: deterministic lazy generation, the transaction mix, and its server."""

from __future__ import annotations

import base64
import itertools
import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date

import pytest
import requests

from core.upstreams import GENESIS_HASHES
from prices.utxoracle.parser import DEFAULT_FILTER, parse_block
from simulators.chain import (
    BLOCKS_PER_DAY,
    ROUND_USD,
    ChainParams,
    Miner,
    SimulatedChain,
    SimulatorServer,
    server_from_args,
)
from tests.support import ROOT, free_port

SMALL = ChainParams(txs_per_block=200, days=2, seed=3)


def test_generation_is_deterministic_and_independent_of_order() -> None:
    one, two = SimulatedChain(SMALL), SimulatedChain(SMALL)
    heights = [SMALL.base_height + 5, SMALL.base_height + 200]
    first = [one.block(h) for h in heights]
    second = [two.block(h) for h in reversed(heights)][::-1]
    assert first == second
    assert SimulatedChain(replace(SMALL, seed=4)).block(heights[0]) != first[0]


def test_the_cache_is_bounded_and_blocks_regenerate_identically() -> None:
    chain = SimulatedChain(SMALL, cache_blocks=2)
    base = SMALL.base_height
    first = chain.block(base)
    chain.block(base + 1)
    chain.block(base + 2)
    assert len(chain._cache) == 2 and base not in chain._cache
    assert chain.block(base) == first
    assert chain.height_of(chain.block_hash(base + 1)) == base + 1


def test_days_have_144_blocks_stamped_inside_them() -> None:
    chain = SimulatedChain(replace(SMALL, disorder=0.3))
    midnight = chain.first_midnight
    first_day = SMALL.base_height + 12
    times = [chain.block_time(h) for h in range(first_day, first_day + 2 * BLOCKS_PER_DAY)]
    assert all(midnight <= t < midnight + 86_400 for t in times[:BLOCKS_PER_DAY])
    assert all(midnight + 86_400 <= t < midnight + 2 * 86_400 for t in times[BLOCKS_PER_DAY:])
    assert any(later < earlier for earlier, later in itertools.pairwise(times))
    assert chain.block_time(first_day - 1) < midnight
    assert chain.days == [date(2025, 1, 1), date(2025, 1, 2)]
    assert chain.tip == SMALL.base_height + 12 + 2 * BLOCKS_PER_DAY + 12 - 1


def test_planted_price_drifts_through_the_day() -> None:
    chain = SimulatedChain(replace(SMALL, daily_change=0.05, intraday_drift=0.02))
    first_day = SMALL.base_height + 12
    assert chain.day_price(date(2025, 1, 1)) == SMALL.price
    assert chain.day_price(date(2025, 1, 2)) != SMALL.price
    start, end = chain.price_at(first_day), chain.price_at(first_day + BLOCKS_PER_DAY - 1)
    assert start < SMALL.price < end
    assert end / start == pytest.approx(1.02, rel=0.001)
    with pytest.raises(ValueError):
        chain.day_price(date(2025, 1, 3))


def test_every_filtered_category_is_present() -> None:
    raw = SimulatedChain(replace(SMALL, txs_per_block=400)).block(SMALL.base_height + 30)
    kept = len(parse_block(raw).kept)
    for rule in ("max_inputs", "exact_outputs", "max_witness_bytes"):
        assert len(parse_block(raw, replace(DEFAULT_FILTER, **{rule: None})).kept) > kept, rule
    for rule in ("drop_coinbase", "drop_op_return"):
        assert len(parse_block(raw, replace(DEFAULT_FILTER, **{rule: False})).kept) > kept, rule


def test_decoys_pay_round_dollars_at_the_decoy_price() -> None:
    chain = SimulatedChain(replace(SMALL, decoy_price=50_000.0))
    with_coinbase = replace(DEFAULT_FILTER, drop_coinbase=False)
    parsed = parse_block(chain.block(SMALL.base_height + 40), with_coinbase)
    decoy_sats = {max(1, round(usd / 50_000.0 * 1e8)) for usd in ROUND_USD}
    assert parsed.kept[0] == 0  # the coinbase
    coinbase_values = parsed.values[parsed.value_of == 0].tolist()
    assert len(coinbase_values) == 2 and set(coinbase_values) <= decoy_sats


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        SimulatedChain(replace(SMALL, days=0))
    with pytest.raises(ValueError, match="unknown transaction categories"):
        SimulatedChain(replace(SMALL, mix={"payment": 1.0, "gifts": 1.0}))
    chain = SimulatedChain(SMALL)
    with pytest.raises(KeyError):
        chain.block(chain.tip + 1)
    with pytest.raises(KeyError):
        chain.height_of("00" * 32)


# --- the server ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    cookie = tmp_path_factory.mktemp("sim") / ".cookie"
    with SimulatorServer(SimulatedChain(replace(SMALL, days=1)), cookie_file=cookie) as running:
        yield running


def rpc(server: SimulatorServer, payload, auth: str | None = None) -> requests.Response:
    credentials = auth or server.cookie_file.read_text()  # type: ignore[union-attr]
    header = "Basic " + base64.b64encode(credentials.encode()).decode()
    data = payload if isinstance(payload, bytes) else json.dumps(payload)
    return requests.post(server.url, data=data, headers={"Authorization": header}, timeout=10)


def test_esplora_paths(server: SimulatorServer) -> None:
    chain = server.chain
    height = chain.params.base_height + 3
    assert requests.get(f"{server.url}/blocks/tip/height", timeout=5).text == str(chain.tip)
    block_id = requests.get(f"{server.url}/block-height/{height}", timeout=5).text
    assert block_id == chain.block_hash(height)
    info = requests.get(f"{server.url}/block/{block_id}", timeout=5).json()
    assert info == {
        "id": block_id,
        "height": height,
        "timestamp": chain.block_time(height),
        "size": len(chain.block(height)),
    }
    header = requests.get(f"{server.url}/block/{block_id}/header", timeout=5).text
    assert bytes.fromhex(header) == chain.block(height)[:80]
    raw = requests.get(f"{server.url}/block/{block_id}/raw", timeout=5)
    assert raw.content == chain.block(height)
    assert raw.headers["Content-Type"] == "application/octet-stream"
    for path in (f"/block-height/{chain.tip + 1}", "/block/" + "00" * 32 + "/raw", "/nothing"):
        assert requests.get(server.url + path, timeout=5).status_code == 404


def test_rpc_calls_and_core_error_shapes(server: SimulatorServer) -> None:
    chain = server.chain
    height = chain.params.base_height + 3
    reply = rpc(server, {"id": 9, "method": "getblockcount", "params": []})
    assert reply.json() == {"result": chain.tip, "error": None, "id": 9}
    block_id = chain.block_hash(height)
    header = rpc(server, {"id": 1, "method": "getblockheader", "params": [block_id, False]})
    assert header.json()["result"] == chain.block(height)[:80].hex()
    verbose = rpc(server, {"id": 1, "method": "getblockheader", "params": [block_id]}).json()
    assert verbose["result"]["time"] == chain.block_time(height)
    cases = [
        ({"id": 2, "method": "getblockhash", "params": [10**9]}, 500, -8),
        ({"id": 3, "method": "getblockhash", "params": ["7"]}, 500, -3),
        ({"id": 4, "method": "getblock", "params": ["00" * 32, 0]}, 500, -5),
        ({"id": 5, "method": "getblock", "params": [block_id, 2]}, 500, -8),
        ({"id": 6, "method": "getblockheader", "params": ["abc"]}, 500, -8),
        ({"id": 7, "method": "stop", "params": []}, 404, -32601),
        ({"id": 8}, 400, -32600),
    ]
    for payload, status, code in cases:
        answer = rpc(server, payload)
        assert answer.status_code == status, payload
        assert answer.json()["error"]["code"] == code and answer.json()["result"] is None
    garbled = rpc(server, b"{not json")
    assert garbled.status_code == 500 and garbled.json()["error"]["code"] == -32700


def test_rpc_batches_answer_each_call(server: SimulatorServer) -> None:
    height = server.chain.params.base_height
    batch = [
        {"id": 0, "method": "getblockhash", "params": [height]},
        {"id": 1, "method": "getblockhash", "params": [-1]},
        {"id": 2, "method": "getblock", "params": [server.chain.block_hash(height), 0]},
    ]
    replies = rpc(server, batch)
    assert replies.status_code == 200
    first, second, third = replies.json()
    assert first["result"] == server.chain.block_hash(height) and first["id"] == 0
    assert second["error"]["code"] == -8
    assert bytes.fromhex(third["result"]) == server.chain.block(height)


def test_rpc_authentication(server: SimulatorServer) -> None:
    assert rpc(server, {"method": "getblockcount"}, auth="__cookie__:nope").status_code == 401
    for header in ("Bearer x", "Basic !!!"):
        answer = requests.post(server.url, data="{}", headers={"Authorization": header}, timeout=5)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="jsonrpc"'


def test_server_from_command_line_arguments(tmp_path) -> None:
    cookie = tmp_path / "cookie"
    built = server_from_args(
        [
            *("--port", "0", "--txs-per-block", "5", "--warm", "--cookie-file", str(cookie)),
            *("--time-override", "870012=1735689601", "--decoy-price", "1000", "--days", "2"),
            *("--rpc-user", "u", "--rpc-password", "p"),
        ]
    )
    try:
        assert built.chain.block_time(870012) == 1_735_689_601
        assert len(built.chain._hashes) == built.chain.tip - 870000 + 1  # warmed
        assert cookie.read_text().startswith("__cookie__:")
        assert "u:p" in built.credentials and built.chain.params.decoy_price == 1000
    finally:
        built.stop()
    with pytest.raises(SystemExit):
        server_from_args(["--time-override", "soon"])


def test_the_module_serves_until_interrupted() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators.chain",
            "--port",
            str(port),
            "--txs-per-block",
            "5",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline()  # type: ignore[union-attr]
        assert f"serving Esplora and RPC at http://127.0.0.1:{port}" in banner
        assert requests.get(f"http://127.0.0.1:{port}/blocks/tip/height", timeout=5).ok
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0


@pytest.mark.parametrize("network", ["main", "test", "testnet4", "signet", "regtest"])
def test_height_0_is_the_genesis_block_of_the_network(tmp_path, network: str) -> None:
    chain = SimulatedChain(replace(SMALL, days=1))
    cookie = tmp_path / ".cookie"
    with SimulatorServer(chain, cookie_file=cookie, network=network) as node:
        genesis = requests.get(f"{node.url}/block-height/0", timeout=5).text
        assert GENESIS_HASHES[genesis] == network
        assert rpc(node, {"id": 1, "method": "getblockhash", "params": [0]}).json()["result"] == (
            genesis
        )
        info = rpc(node, {"id": 1, "method": "getblockchaininfo", "params": []}).json()["result"]
    assert info["chain"] == network and info["blocks"] == chain.tip
    assert info["initialblockdownload"] is False and info["pruned"] is False


def test_a_syncing_pruned_node_says_so(tmp_path) -> None:
    chain = SimulatedChain(replace(SMALL, days=1))
    prune = chain.params.base_height + 10
    with SimulatorServer(
        chain, cookie_file=tmp_path / ".cookie", initial_block_download=True, prune_height=prune
    ) as node:
        info = rpc(node, {"id": 1, "method": "getblockchaininfo", "params": []}).json()["result"]
        old = chain.block_hash(prune - 1)
        pruned = rpc(node, {"id": 2, "method": "getblock", "params": [old, 0]})
    assert info["initialblockdownload"] is True and info["headers"] > info["blocks"]
    assert (info["pruned"], info["pruneheight"]) == (True, prune)
    assert pruned.status_code == 500
    assert pruned.json()["error"] == {"code": -1, "message": "Block not available (pruned data)"}


def test_rest_serves_raw_blocks_without_authentication(tmp_path) -> None:
    chain = SimulatedChain(replace(SMALL, days=1))
    height = chain.params.base_height + 4
    with SimulatorServer(chain, cookie_file=tmp_path / ".cookie", rest=True) as node:
        raw = requests.get(f"{node.url}/rest/block/{chain.block_hash(height)}.bin", timeout=5)
        info = requests.get(f"{node.url}/rest/chaininfo.json", timeout=5).json()
        unknown = requests.get(f"{node.url}/rest/block/{'00' * 32}.bin", timeout=5)
    assert raw.headers["Content-Type"] == "application/octet-stream"
    assert raw.content == chain.block(height) and info["chain"] == "main"
    assert unknown.status_code == 404


def test_without_rest_its_paths_are_404(server: SimulatorServer) -> None:
    assert requests.get(f"{server.url}/rest/chaininfo.json", timeout=5).status_code == 404


def test_a_method_outside_the_whitelist_is_403_with_an_empty_body(tmp_path) -> None:
    chain = SimulatedChain(replace(SMALL, days=1))
    allowed = frozenset({"getblockcount"})
    with SimulatorServer(chain, cookie_file=tmp_path / ".cookie", rpc_whitelist=allowed) as node:
        fine = rpc(node, {"id": 1, "method": "getblockcount", "params": []})
        denied = rpc(node, {"id": 1, "method": "getblockchaininfo", "params": []})
        batch = rpc(node, [{"id": 1, "method": "getblockcount"}, {"id": 2, "method": "getblock"}])
    assert fine.status_code == 200
    assert (denied.status_code, denied.content) == (403, b"")
    assert (batch.status_code, batch.content) == (403, b"")


def test_the_miner_catches_up_with_the_clock_then_follows_it() -> None:
    chain = SimulatedChain(SMALL)
    end = chain.last_day_end
    now = chain.block_time(end) + 700  # the last day's last block and one more are due
    chain.tip = end - 3
    miner = Miner(chain, seconds_per_block=1.0)
    due = chain.height_due(now)
    assert due == end + 1
    mined = [miner.mine_once(now) for _ in range(6)]
    assert mined == [True, True, True, True, False, False]
    assert chain.tip == due
    later = now + 600
    assert miner.mine_once(later) and chain.tip == due + 1
    assert chain.block_time(chain.tip) <= later + 300  # at most its jitter ahead of the clock


def test_the_miner_completes_the_last_day_even_in_the_first_hour_of_the_next() -> None:
    chain = SimulatedChain(SMALL)
    end = chain.last_day_end
    just_after_midnight = chain.block_time(end + 1) - 200  # one block of the new day is due
    chain.tip = end - 3
    miner = Miner(chain, seconds_per_block=1.0, ahead_to=chain.complete_height)
    mined = [miner.mine_once(just_after_midnight) for _ in range(12)]
    assert mined == [True] * 10 + [False] * 2
    assert chain.tip == chain.complete_height == end + 7
    ahead = chain.block_time(chain.tip) - just_after_midnight
    assert 0 < ahead <= 2 * 3600  # within Bitcoin's rule for block times


def test_a_mining_server_grows_its_tip() -> None:
    server = server_from_args(
        ["--port", "0", "--days", "2", "--txs-per-block", "20", "--mine-every", "0.05",
         "--start-behind", "5", "--start-date", "2025-01-01"]
    )  # fmt: skip
    start = server.chain.tip
    assert start == server.chain.last_day_end - 5
    with server:
        tips = set()
        for _ in range(200):
            tips.add(int(requests.get(f"{server.url}/blocks/tip/height", timeout=5).text))
            if len(tips) >= 3:
                break
            time.sleep(0.05)
    assert min(tips) >= start and len(tips) >= 3
