"""The mempool simulator: the real backend's routes and frames (checked against what the real
backend sent, in tests/fixtures/mempool-backend/), generated traffic, its command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import time
from datetime import UTC, date, datetime

import pytest
import requests
from websockets.asyncio.client import connect

from core.upstreams import GENESIS_HASHES
from prices.exchange import ExchangePrices
from simulators.mempool import MempoolSimulator, load_prices, make_transaction, run_traffic
from tests.support import PYTHON, ROOT, free_port, wait_for_port

FIXTURES = ROOT / "tests" / "fixtures" / "mempool-backend"


async def test_traffic_has_whales_and_blocks(simulator):
    stop = asyncio.Event()
    async with connect(simulator.ws_url) as socket:
        await socket.send(json.dumps({"track-mempool": True}))
        await socket.send(json.dumps({"action": "ping"}))
        assert json.loads(await socket.recv()) == {"pong": True}
        traffic = asyncio.create_task(
            run_traffic(
                simulator,
                tx_per_second=40,
                whale_every=0.1,
                block_every=0.25,
                update_every=0.05,
                rng=random.Random(5),
                stop=stop,
            )
        )
        updates = [json.loads(await socket.recv())["mempool-transactions"] for _ in range(12)]
        stop.set()
        await traffic
    sequences = [update["sequence"] for update in updates]
    assert sequences == list(range(sequences[0], sequences[0] + 12))
    added = [tx for update in updates for tx in update["added"]]
    assert any(sum(out["value"] for out in tx["vout"]) >= 150e8 for tx in added)
    assert any(update["mined"] for update in updates)


async def test_rest_routes_are_those_of_the_real_backend(simulator):
    tx = make_transaction(random.Random(1))
    simulator.add_quietly(tx)
    block = simulator.mine_quietly()
    waiting = make_transaction(random.Random(2))
    simulator.add_quietly(waiting)
    simulator.price_usd = None

    def get(path: str) -> requests.Response:
        return requests.get(simulator.url + path, timeout=5)

    txids = await asyncio.to_thread(get, "/api/v1/mempool/txids")
    assert txids.json() == [waiting["txid"]]
    assert txids.headers["Content-Type"] == "application/json; charset=utf-8"
    assert (await asyncio.to_thread(get, "/api/v1/prices")).json()["USD"] == -1
    assert (await asyncio.to_thread(get, "/api/v1/fees/recommended")).json()["fastestFee"] == 20
    mined = (await asyncio.to_thread(get, f"/api/v1/tx/{tx['txid']}")).json()
    assert mined["status"] == {
        "confirmed": True,
        "block_height": block.height,
        "block_hash": block.hash,
        "block_time": block.time,
    }
    status = await asyncio.to_thread(get, f"/api/v1/tx/{waiting['txid']}/status")
    assert status.json() == {"confirmed": False}
    unknown = await asyncio.to_thread(get, f"/api/v1/tx/{'cd' * 32}")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "No such mempool or blockchain transaction"}
    info = (await asyncio.to_thread(get, "/api/v1/backend-info")).json()
    assert (info["backend"], info["version"]) == ("none", "3.4-dev")
    assert (await asyncio.to_thread(get, "/api/v1/blocks/tip/height")).text == str(block.height)
    for bare in ("/api/mempool/txids", f"/api/tx/{tx['txid']}", "/mempool/txids", "/nowhere"):
        answer = await asyncio.to_thread(get, bare)
        assert answer.status_code == 404 and f"Cannot GET {bare}" in answer.text


async def test_the_simulator_answers_as_the_real_backend_answered(simulator):
    """Bodies and statuses of the real backend (captured) against the simulator's."""
    real = json.loads((FIXTURES / "rest.json").read_text())
    simulator.price_usd = None
    answers = {}
    for path in ("/api/v1/prices", "/api/mempool/txids", "/api/v1/fees/recommended"):
        answers[path] = await asyncio.to_thread(requests.get, simulator.url + path, timeout=5)
    assert answers["/api/v1/prices"].json()["USD"] == real["/api/v1/prices"]["body"]["USD"] == -1
    assert answers["/api/mempool/txids"].status_code == real["/api/mempool/txids"]["status"]
    assert set(answers["/api/v1/fees/recommended"].json()) == set(
        real["/api/v1/fees/recommended"]["body"]
    )


def test_transactions_have_the_keys_and_types_of_the_real_frames() -> None:
    frames = json.loads((FIXTURES / "frames-lifecycle.json").read_text())
    real = frames["added_whale (150 BTC @25 sat/vB; seq 1 = first update after sync)"]
    [real_tx] = real["mempool-transactions"]["added"]
    ours = make_transaction(random.Random(3), btc=150)
    assert set(ours) >= set(real_tx) - {"replacement"}
    assert set(ours["vin"][0]) == set(real_tx["vin"][0])
    assert set(ours["vout"][0]) == set(real_tx["vout"][0])
    for key in ("fee", "weight", "vsize", "firstSeen", "sigops"):
        assert type(ours[key]) is type(real_tx[key]), key
    assert type(ours["vout"][0]["value"]) is type(real_tx["vout"][0]["value"]) is int
    assert ours["vin"][0]["prevout"] is real_tx["vin"][0]["prevout"] is None
    assert ours["vsize"] == -(-ours["weight"] // 4)


async def test_replacements_are_in_removed_and_replaced_like_the_real_ones(simulator):
    frames = json.loads((FIXTURES / "frames-lifecycle.json").read_text())
    [key] = [k for k in frames if k.startswith("rbf_replacement_in_mempool")]
    real = frames[key]["mempool-transactions"]
    old, new = make_transaction(random.Random(4)), make_transaction(random.Random(5))
    simulator.add_quietly(old)
    async with connect(simulator.ws_url) as socket:
        await socket.send(json.dumps({"track-mempool": True}))
        await simulator.wait_for_tracking()
        await simulator.replace(old["txid"], new)
        ours = json.loads(await socket.recv())["mempool-transactions"]
    assert set(ours) == set(real)
    assert real["removed"] == [real["replaced"][0]["replaced"]]
    assert ours["removed"] == [ours["replaced"][0]["replaced"]] == [old["txid"]]


def _noon(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())


async def test_historical_prices_answer_one_point_inside_the_asked_day(simulator):
    simulator.historical_usd = {date(2025, 3, 8): 85_302.0}
    get = lambda query: requests.get(  # noqa: E731
        f"{simulator.url}/api/v1/historical-price?{query}", timeout=5
    )
    morning = _noon(date(2025, 3, 8)) - 40_000
    known = await asyncio.to_thread(get, f"currency=USD&timestamp={morning}")
    assert known.json() == {
        "prices": [{"time": _noon(date(2025, 3, 8)), "USD": 85_302.0}],
        "exchangeRates": {},
    }
    unknown = await asyncio.to_thread(get, f"currency=USD&timestamp={_noon(date(2025, 3, 9))}")
    assert unknown.status_code == 200 and unknown.json()["prices"] == []
    for query in ("currency=EUR&timestamp=1", "currency=USD&timestamp=soon", "currency=USD"):
        assert (await asyncio.to_thread(get, query)).status_code == 400


async def test_the_service_reads_its_exchange_prices_from_the_simulator(simulator):
    simulator.price_usd = 91_000.0
    simulator.historical_usd = {date(2025, 3, 8): 85_302.0}
    exchange = ExchangePrices(simulator.url)
    today = date(2025, 3, 10)
    found = await asyncio.gather(
        *(
            asyncio.to_thread(exchange.price_on, day, today)
            for day in (date(2025, 3, 8), date(2025, 3, 9), today)
        )
    )
    assert found == [85_302.0, None, 91_000.0]


def test_price_files_are_checked(tmp_path):
    good = tmp_path / "prices.json"
    good.write_text('{"2025-03-08": 85302, "2025-03-09": 86000.5}')
    assert load_prices(str(good)) == {date(2025, 3, 8): 85_302.0, date(2025, 3, 9): 86_000.5}
    for text in ('["2025-03-08"]', '{"March 8": 1}', '{"2025-03-08": "a lot"}', "{"):
        good.write_text(text)
        with pytest.raises(argparse.ArgumentTypeError, match="not a JSON object of dates"):
            load_prices(str(good))
    with pytest.raises(argparse.ArgumentTypeError, match=r"missing\.json"):
        load_prices(str(tmp_path / "missing.json"))


async def test_the_socket_is_quiet_until_the_mempool_changes_and_answers_pings(simulator):
    async with connect(simulator.ws_url.replace("/api/v1/ws", "/any/path")) as socket:
        await socket.send(json.dumps({"track-mempool": 1}))  # only `true` counts
        await socket.send(json.dumps({"action": "ping"}))
        assert await socket.recv() == '{"pong": true}'
        assert not simulator.tracking
        await socket.send(json.dumps({"track-mempool": True}))
        await simulator.wait_for_tracking()
        await socket.send("hello")  # not JSON: the backend closes the socket
        await socket.wait_closed()


async def test_a_restart_starts_the_counter_again_and_sends_the_catch_up(simulator):
    simulator.add_quietly(make_transaction(random.Random(6)))
    simulator.mine_quietly()
    waiting = make_transaction(random.Random(7))
    simulator.add_quietly(waiting)
    simulator.restart()
    async with connect(simulator.ws_url) as socket:
        await socket.send(json.dumps({"track-mempool": True}))
        frames = [json.loads(await socket.recv()) for _ in range(4)]
        await simulator.add(make_transaction(random.Random(8)))
        live = json.loads(await socket.recv())
    mined, loading, everything, loaded = frames
    assert mined["mempool-transactions"]["sequence"] == 0 and mined["mempool-transactions"]["mined"]
    assert loading == {"loadingIndicators": {"mempool": 0}} and loaded == {"loadingIndicators": {}}
    assert [tx["txid"] for tx in everything["mempool-transactions"]["added"]] == [waiting["txid"]]
    assert live["mempool-transactions"]["sequence"] == 1


async def test_an_old_backend_ignores_track_mempool():
    simulator = await MempoolSimulator(version="2.5.0").start()
    try:
        async with connect(simulator.ws_url) as socket:
            await socket.send(json.dumps({"track-mempool": True}))
            await socket.send(json.dumps({"action": "ping"}))
            assert await socket.recv() == '{"pong": true}'
        assert not simulator.tracking
    finally:
        await simulator.stop()


async def test_in_esplora_mode_transactions_come_from_electrs():
    simulator = await MempoolSimulator(backend="esplora").start()
    try:
        tx = make_transaction(random.Random(9))
        simulator.add_quietly(tx)

        def get(url: str) -> requests.Response:
            return requests.get(url, timeout=5)

        backend = await asyncio.to_thread(get, simulator.url + "/api/v1/mempool/txids")
        electrs = await asyncio.to_thread(get, simulator.electrs_url + "/mempool/txids")
        fetched = await asyncio.to_thread(get, f"{simulator.electrs_url}/tx/{tx['txid']}")
        genesis = await asyncio.to_thread(get, simulator.electrs_url + "/block-height/0")
    finally:
        await simulator.stop()
    assert backend.status_code == 404 and electrs.json() == [tx["txid"]]
    assert fetched.json()["txid"] == tx["txid"]
    assert GENESIS_HASHES[genesis.text] == "main"


def test_command_line_serves_live_traffic(tmp_path):
    port = free_port()
    prices = tmp_path / "prices.json"
    prices.write_text('{"2025-03-08": 85302.0}')
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "simulators.mempool",
            "--port",
            str(port),
            "--whale-every",
            "0.5",
            "--tx-per-second",
            "2",
            "--seed",
            "3",
            "--price",
            "91000",
            "--historical-prices",
            str(prices),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, process=process)
        base = f"http://127.0.0.1:{port}/api/v1"
        assert requests.get(f"{base}/prices", timeout=5).json()["USD"] == 91_000.0
        query = f"currency=USD&timestamp={_noon(date(2025, 3, 8))}"
        history = requests.get(f"{base}/historical-price?{query}", timeout=5).json()
        assert history["prices"][0]["USD"] == 85_302.0

        async def first_whale() -> dict:
            async with connect(f"ws://127.0.0.1:{port}/api/v1/ws") as socket:
                await socket.send(json.dumps({"track-mempool": True}))
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    update = json.loads(await socket.recv())["mempool-transactions"]
                    for tx in update["added"]:
                        if sum(out["value"] for out in tx["vout"]) >= 150e8:
                            return tx
                raise AssertionError("no whale within 15 s")

        assert asyncio.run(first_whale())["txid"]
    finally:
        process.terminate()
        process.wait(10)
    assert "mempool simulator: http://127.0.0.1:" in process.stdout.read()
