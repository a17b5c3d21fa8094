"""The mempool simulator as a program: generated traffic, its REST answers, its command line."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import time

import requests
from websockets.asyncio.client import connect

from alerts.mempool_simulator import run_traffic
from tests.support import PYTHON, ROOT, free_port, wait_for_port


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


async def test_rest_endpoints(simulator):
    simulator.add_quietly({"txid": "ab" * 32, "vin": [], "vout": []})
    get = lambda path: requests.get(simulator.url + path, timeout=5)  # noqa: E731
    txids, fees, prices = await asyncio.gather(
        *(
            asyncio.to_thread(get, p)
            for p in ("/api/mempool/txids", "/api/v1/fees/recommended", "/api/v1/prices")
        )
    )
    assert txids.json() == ["ab" * 32] and txids.headers["Content-Type"] == "application/json"
    assert fees.json()["fastestFee"] == 20 and prices.json()["USD"] == 60_000.0
    assert (await asyncio.to_thread(get, f"/api/tx/{'ab' * 32}")).json()["txid"] == "ab" * 32
    assert (await asyncio.to_thread(get, f"/api/tx/{'cd' * 32}")).status_code == 404
    assert (await asyncio.to_thread(get, "/nowhere")).status_code == 404


async def test_a_non_json_request_closes_the_socket(simulator):
    async with connect(simulator.ws_url) as socket:
        await socket.send("hello")
        await socket.wait_closed()
        assert socket.close_code == 1003


def test_command_line_serves_live_traffic():
    port = free_port()
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "alerts.mempool_simulator",
            "--port",
            str(port),
            "--whale-every",
            "0.5",
            "--tx-per-second",
            "2",
            "--seed",
            "3",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, process=process)
        assert requests.get(f"http://127.0.0.1:{port}/api/v1/prices", timeout=5).json()["USD"] > 0

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
