"""The mempool simulator as a program: generated traffic, its REST answers, its command line."""

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

from prices.exchange import ExchangePrices
from simulators.mempool import load_prices, run_traffic
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


async def test_a_non_json_request_closes_the_socket(simulator):
    async with connect(simulator.ws_url) as socket:
        await socket.send("hello")
        await socket.wait_closed()
        assert socket.close_code == 1003


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
