"""A loopback stand-in for the mempool.space backend: its WebSocket (`track-mempool`) and the REST
endpoints the alerts feed uses, with realistic transactions and an occasional whale.

Tests drive it directly (`push`, `disconnect_all`, `accepting = False`, …); demos run it with
generated traffic:

    python -m simulators.mempool --port 8999 --whale-every 60

then point the service at it with MEMPOOL_URL=http://127.0.0.1:8999 and
MEMPOOL_WS_URL=ws://127.0.0.1:8999/api/v1/ws.

Exchange prices: `/api/v1/prices` answers `price_usd` (`--price`); `/api/v1/historical-price`
answers the price of the asked timestamp's UTC day from `historical_usd` (`--historical-prices`, a
JSON object of "YYYY-MM-DD": USD) as one point at noon of that day, and no point for other days.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from simulators.chain import stop_on_signals

WS_PATH = "/api/v1/ws"
SATS_PER_BTC = 100_000_000
_TX_PATH = re.compile(r"^/api/tx/([0-9a-fA-F]{64})$")
_SCRIPT_TYPES = (
    ("v0_p2wpkh", 22, 68),
    ("v1_p2tr", 34, 58),
    ("p2sh", 23, 91),
    ("v0_p2wsh", 34, 105),
)


def make_transaction(
    rng: random.Random,
    *,
    btc: float | None = None,
    fee_rate: float | None = None,
    rbf: bool | None = None,
    inputs: int | None = None,
    outputs: int | None = None,
    first_seen: float | None = None,
) -> dict[str, Any]:
    """A transaction object shaped like the backend's (Esplora fields plus vsize and firstSeen)."""
    n_in = inputs or rng.choice((1, 1, 1, 2, 2, 3, 5))
    n_out = outputs or rng.choice((1, 2, 2, 2, 3))
    total = round((btc if btc is not None else rng.lognormvariate(-2.5, 2.0)) * SATS_PER_BTC)
    total = max(total, 546 * n_out)
    shares = [rng.random() + 0.05 for _ in range(n_out)]
    values = [int(total * share / sum(shares)) for share in shares]
    values[0] += total - sum(values)
    signal_rbf = rng.random() < 0.3 if rbf is None else rbf
    vin = []
    vsize = 11
    for _ in range(n_in):
        kind, _, input_vbytes = rng.choice(_SCRIPT_TYPES)
        vsize += input_vbytes
        vin.append(
            {
                "txid": _random_txid(rng),
                "vout": rng.randrange(4),
                "prevout": {
                    "scriptpubkey": _hex(rng, 22),
                    "scriptpubkey_type": kind,
                    "scriptpubkey_address": "bc1q" + _hex(rng, 19),
                    "value": total // n_in + 10_000,
                },
                "scriptsig": "",
                "witness": [_hex(rng, 72), _hex(rng, 33)],
                "is_coinbase": False,
                "sequence": 0xFFFFFFFD if signal_rbf else 0xFFFFFFFF,
            }
        )
    vout = []
    for value in values:
        kind, script_bytes, _ = rng.choice(_SCRIPT_TYPES)
        vsize += 9 + script_bytes
        vout.append(
            {
                "scriptpubkey": _hex(rng, script_bytes),
                "scriptpubkey_type": kind,
                "scriptpubkey_address": "bc1q" + _hex(rng, 19),
                "value": value,
            }
        )
    rate = fee_rate if fee_rate is not None else round(rng.lognormvariate(1.5, 0.8), 2)
    fee = max(round(rate * vsize), vsize)
    return {
        "txid": _random_txid(rng),
        "version": 2,
        "locktime": 0,
        "vin": vin,
        "vout": vout,
        "size": vsize + 40 * n_in,
        "weight": vsize * 4,
        "fee": fee,
        "status": {"confirmed": False},
        "vsize": vsize,
        "feePerVsize": round(fee / vsize, 2),
        "effectiveFeePerVsize": round(fee / vsize, 2),
        "firstSeen": round(first_seen if first_seen is not None else time.time()),
    }


class MempoolSimulator:
    """One port serving the backend's WebSocket at /api/v1/ws and its REST paths."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.mempool: dict[str, dict[str, Any]] = {}
        self.sequence = 0
        self.fees = {
            "fastestFee": 20,
            "halfHourFee": 12,
            "hourFee": 8,
            "economyFee": 4,
            "minimumFee": 1,
        }
        self.price_usd: float | None = 60_000.0
        self.historical_usd: dict[date, float] = {}
        self.accepting = True
        self.listed_only: set[str] = set()  # listed in txids, gone when fetched (mined meanwhile)
        self.requests: list[str] = []
        self.received: list[Any] = []
        self.tracking: set[ServerConnection] = set()
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    async def start(self) -> MempoolSimulator:
        self._server = await serve(
            self._serve_socket,
            self.host,
            self.port,
            process_request=self._process_request,
            max_size=2**20,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close(close_connections=False)
            for connection in self._server.connections:
                connection.transport.abort()
            await self._server.wait_closed()

    async def push(
        self,
        added: Iterable[dict[str, Any]] = (),
        removed: Iterable[str] = (),
        mined: Iterable[str] = (),
        replaced: Iterable[tuple[str, dict[str, Any]]] = (),
        *,
        skip: int = 0,
    ) -> int:
        """Apply one mempool update and push it to tracking clients; `skip` fakes missed updates."""
        added, removed, mined, replaced = list(added), list(removed), list(mined), list(replaced)
        for tx in added:
            if isinstance(tx, dict) and isinstance(tx.get("txid"), str):  # tests push garbage too
                self.mempool[tx["txid"]] = tx
        for txid in [*removed, *mined, *(old for old, _ in replaced)]:
            self.mempool.pop(txid, None)
        self.sequence += 1 + skip
        body = {
            "sequence": self.sequence,
            "added": added,
            "removed": removed,
            "mined": mined,
            "replaced": [{"replaced": old, "by": new} for old, new in replaced],
        }
        await self.send_raw(json.dumps({"mempool-transactions": body}))
        return self.sequence

    def add_quietly(self, tx: dict[str, Any]) -> None:
        """Put a transaction in the mempool without telling anyone (it arrived during an outage)."""
        self.mempool[tx["txid"]] = tx
        self.sequence += 1

    async def send_raw(self, text: str | bytes) -> None:
        """Send one frame as-is to every tracking client."""
        for client in list(self.tracking):
            try:
                await client.send(text)
            except ConnectionClosed:
                self.tracking.discard(client)

    def disconnect_all(self) -> None:
        """Drop every WebSocket connection abruptly (no close frame)."""
        for client in list(self.tracking):
            client.transport.abort()
        self.tracking.clear()

    async def wait_for_tracking(self, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.tracking) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.tracking)} of {count} clients track the mempool")
            await asyncio.sleep(0.01)

    async def _serve_socket(self, connection: ServerConnection) -> None:
        try:
            async for message in connection:
                try:
                    request = json.loads(message)
                except ValueError:
                    await connection.close(1003, "not JSON")
                    return
                self.received.append(request)
                if request.get("track-mempool") is True:
                    self.tracking.add(connection)
                elif request.get("track-mempool") is False:
                    self.tracking.discard(connection)
                if request.get("action") == "ping":
                    await connection.send(json.dumps({"pong": True}))
        except ConnectionClosed:
            pass
        finally:
            self.tracking.discard(connection)

    def historical_price(self, query: str) -> tuple[HTTPStatus, Any]:
        """The `/api/v1/historical-price` answer for a query string (mempool.space's shape)."""
        values = parse_qs(query)
        stamp = values.get("timestamp", [""])[0]
        if values.get("currency", ["USD"])[0] != "USD" or not stamp.isdigit():
            return HTTPStatus.BAD_REQUEST, {"error": "expected currency=USD and a unix timestamp"}
        day = datetime.fromtimestamp(int(stamp), UTC).date()
        price = self.historical_usd.get(day)
        noon = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())
        points = [] if price is None else [{"time": noon, "USD": price}]
        return HTTPStatus.OK, {"prices": points, "exchangeRates": {}}

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        path = parts.path
        self.requests.append(path)
        if path == WS_PATH:
            if not self.accepting:
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable\n")
            return None
        if path == "/api/mempool/txids":
            return _json(connection, [*self.mempool, *self.listed_only])
        if path == "/api/v1/fees/recommended":
            return _json(connection, self.fees)
        if path == "/api/v1/prices":
            return _json(connection, {"time": int(time.time()), "USD": self.price_usd})
        if path == "/api/v1/historical-price":
            status, payload = self.historical_price(parts.query)
            return _json(connection, payload, status)
        match = _TX_PATH.match(path)
        if match and match.group(1).lower() in self.mempool:
            return _json(connection, self.mempool[match.group(1).lower()])
        if match:
            return connection.respond(HTTPStatus.NOT_FOUND, "Transaction not found")
        return connection.respond(HTTPStatus.NOT_FOUND, "Not found")


async def run_traffic(
    simulator: MempoolSimulator,
    *,
    tx_per_second: float,
    whale_every: float | None,
    block_every: float | None,
    update_every: float = 2.0,
    rng: random.Random | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Push live-looking updates: ordinary transactions, an occasional whale, now and then a block."""
    rng = rng or random.Random()
    stop = stop or asyncio.Event()
    clock = time.monotonic
    next_whale = clock() + whale_every if whale_every else None
    next_block = clock() + block_every if block_every else None
    while not stop.is_set():
        count = max(0, round(rng.gauss(tx_per_second * update_every, 1)))
        added = [make_transaction(rng) for _ in range(count)]
        if next_whale is not None and clock() >= next_whale:
            added.append(make_transaction(rng, btc=rng.uniform(150, 3_000)))
            next_whale = clock() + whale_every
        mined: list[str] = []
        if next_block is not None and clock() >= next_block:
            mined = list(simulator.mempool)[: rng.randint(1, 3_000)]
            next_block = clock() + block_every
        await simulator.push(added=added, mined=mined)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), update_every)


def _json(
    connection: ServerConnection, payload: Any, status: HTTPStatus = HTTPStatus.OK
) -> Response:
    response = connection.respond(status, json.dumps(payload))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


def _random_txid(rng: random.Random) -> str:
    return _hex(rng, 32)


def _hex(rng: random.Random, size: int) -> str:
    return rng.randbytes(size).hex()


def load_prices(path: str) -> dict[date, float]:
    """A JSON file of {"YYYY-MM-DD": USD} as dates and prices."""
    try:
        data = json.loads(Path(path).read_text())
        return {date.fromisoformat(day): float(usd) for day, usd in data.items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        message = f"{path}: not a JSON object of dates and prices ({exc})"
        raise argparse.ArgumentTypeError(message) from None


async def _main(args: argparse.Namespace) -> None:
    simulator = await MempoolSimulator(args.host, args.port).start()
    simulator.price_usd = args.price
    simulator.historical_usd = args.historical_prices
    print(f"mempool simulator: {simulator.url} (WebSocket {simulator.ws_url})", flush=True)
    await run_traffic(
        simulator,
        tx_per_second=args.tx_per_second,
        whale_every=args.whale_every,
        block_every=args.block_every,
        rng=random.Random(args.seed),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.mempool", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8999)
    parser.add_argument("--tx-per-second", type=float, default=3.0)
    parser.add_argument(
        "--whale-every", type=float, default=None, metavar="SECONDS", help="push a whale this often"
    )
    parser.add_argument(
        "--block-every", type=float, default=600.0, metavar="SECONDS", help="mine this often"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--price", type=float, default=60_000.0, metavar="USD", help="/api/v1/prices answers this"
    )
    parser.add_argument(
        "--historical-prices",
        type=load_prices,
        default={},
        metavar="FILE",
        help='/api/v1/historical-price answers from this JSON object of "YYYY-MM-DD": USD',
    )
    args = parser.parse_args(argv)
    stop_on_signals()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
