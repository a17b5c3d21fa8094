"""A loopback stand-in for the mempool.space backend that behaves as the real one does, and for the
electrs beside it when the backend runs in `esplora` mode.

It follows mempool/mempool `backend/src` (commit 3b6ed8bd, v3.4-dev), checked against the real
backend run on a fake Bitcoin Core:

- Every REST route is under `/api/v1/` (`config.ts` API_URL_PREFIX); anything else is express's
  404 page. `prices` gives `USD: -1` without an exchange price (`tasks/price-updater.ts`);
  `historical-price` exists only with a database (else 404, `index.ts`); `backend-info` names the
  version and the BACKEND (`api/backend-info.ts`). `mempool/txids`, `tx/:txid` (200 for confirmed
  transactions too, with `status`) and `tx/:txid/status` are registered only when BACKEND is not
  `esplora` (`api/bitcoin/bitcoin.routes.ts`); in `esplora` mode a second listener plays electrs
  (`electrs_url`, Esplora paths without the prefix).
- The WebSocket at any path (`index.ts`): `{"track-mempool": true}` (exactly `true`; ignored by a
  backend older than 3.0) sends nothing at once and then one `mempool-transactions` frame per
  mempool change (`api/websocket-handler.ts` handleMempoolChange / handleNewBlock): `added` (full
  transactions, amounts in satoshis, `prevout` null, `effectiveFeePerVsize`, the backend's own
  `firstSeen`), `removed` (left for any reason but a block — expiry, eviction, conflicts and
  replacements too), `mined` (every txid of a new block, coinbase first, only to clients connected
  then) and `replaced` (`[{"replaced", "by"}]`, also in `removed` of the same frame). `sequence` is
  one counter for the whole server that rises by one per change, subscribed or not, and starts at 0
  when the backend starts. `{"action": "ping"}` answers `{"pong": true}`; `loadingIndicators`
  frames come unasked.
- `restart()` plays a backend restart: every client is dropped, `sequence` starts again at 0, and
  the next client to track the mempool gets the startup catch-up — a `mined` frame for each of the
  last 8 blocks and one frame with the whole mempool in `added`, all with sequence 0.

Tests drive it directly (`add`, `mine`, `drop`, `replace`, their `*_quietly` forms for what
happens while nobody listens, `restart`, `push` for raw frames); demos run it with generated
traffic: `python -m simulators.mempool --port 8999 --whale-every 60`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from core.upstreams import GENESIS_HASHES
from simulators.chain import stop_on_signals

WS_PATH = "/api/v1/ws"
API = "/api/v1"
BACKENDS = ("none", "electrum", "esplora")
SATS_PER_BTC = 100_000_000
INITIAL_BLOCKS_AMOUNT = 8  # blocks the backend replays as `mined` when it starts
MAX_MESSAGE_BYTES = 50_000  # what the backend accepts from a client (websocket-handler.ts)
FIRST_HEIGHT = 900_000
MAINNET_GENESIS = next(block for block, chain in GENESIS_HASHES.items() if chain == "main")
_TXID = r"([0-9a-fA-F]{64})"
_TX_PATH = re.compile(rf"^/tx/{_TXID}$")
_TX_STATUS_PATH = re.compile(rf"^/tx/{_TXID}/status$")
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
    effective_fee_rate: float | None = None,
    rbf: bool | None = None,
    inputs: int | None = None,
    outputs: int | None = None,
    first_seen: float | None = None,
) -> dict[str, Any]:
    """A transaction object with the keys and types the backend pushes in `added`."""
    n_in = inputs or rng.choice((1, 1, 1, 2, 2, 3, 5))
    n_out = outputs or rng.choice((1, 2, 2, 2, 3))
    total = round((btc if btc is not None else rng.lognormvariate(-2.5, 2.0)) * SATS_PER_BTC)
    total = max(total, 546 * n_out)
    shares = [rng.random() + 0.05 for _ in range(n_out)]
    values = [int(total * share / sum(shares)) for share in shares]
    values[0] += total - sum(values)
    signal_rbf = rng.random() < 0.3 if rbf is None else rbf
    weight = 42
    vin = []
    for _ in range(n_in):
        _, _, input_vbytes = rng.choice(_SCRIPT_TYPES)
        weight += input_vbytes * 4
        vin.append(
            {
                "is_coinbase": False,
                "prevout": None,  # frames carry no prevouts on a Core-only backend
                "scriptsig": "",
                "scriptsig_asm": "",
                "sequence": 0xFFFFFFFD if signal_rbf else 0xFFFFFFFF,
                "txid": _hex(rng, 32),
                "vout": rng.randrange(4),
                "witness": [_hex(rng, 72), _hex(rng, 33)],
                "inner_redeemscript_asm": "",
                "inner_witnessscript_asm": "",
            }
        )
    vout = []
    for value in values:
        kind, script_bytes, _ = rng.choice(_SCRIPT_TYPES)
        weight += (9 + script_bytes) * 4
        vout.append(
            {
                "value": value,
                "scriptpubkey": _hex(rng, script_bytes),
                "scriptpubkey_address": "bc1q" + _hex(rng, 19),
                "scriptpubkey_asm": "OP_0 OP_PUSHBYTES_20 " + _hex(rng, 20),
                "scriptpubkey_type": kind,
            }
        )
    weight -= rng.randrange(4)
    vsize = -(-weight // 4)
    rate = fee_rate if fee_rate is not None else round(rng.lognormvariate(1.5, 0.8), 2)
    fee = max(round(rate * weight / 4), vsize)
    per_vsize = fee / (weight / 4)
    return {
        "txid": _hex(rng, 32),
        "version": 2,
        "locktime": 0,
        "size": vsize + 40 * n_in,
        "weight": weight,
        "fee": fee,
        "vin": vin,
        "vout": vout,
        "status": {"confirmed": False},
        "order": rng.randrange(2**32),
        "vsize": vsize,
        "adjustedVsize": weight / 4,
        "sigops": 0,
        "feePerVsize": per_vsize,
        "adjustedFeePerVsize": per_vsize,
        "effectiveFeePerVsize": per_vsize if effective_fee_rate is None else effective_fee_rate,
        "firstSeen": round(first_seen if first_seen is not None else time.time()),
        "uid": rng.randrange(10**6),
        "cpfpDirty": False,
        "ancestors": [],
        "descendants": [],
        "bestDescendant": None,
        "position": {"block": 0, "vsize": vsize / 2},
        "flags": 1099511645184 if signal_rbf else 1099511644160,
    }


@dataclass
class Block:
    """A block the simulator mined: its height, hash, time and transactions (coinbase first)."""

    height: int
    hash: str
    time: int
    txids: list[str]


@dataclass
class MempoolSimulator:
    """The backend's WebSocket and REST on one port (and, in esplora mode, electrs on another)."""

    host: str = "127.0.0.1"
    port: int = 0
    backend: str = "none"
    version: str = "3.4-dev"
    txindex: bool = True  # without it the backend cannot look up transactions not in the mempool
    price_usd: float | None = 60_000.0
    history: bool = True  # a database with price history behind `historical-price`
    historical_usd: dict[date, float] = field(default_factory=dict)
    fees: dict[str, float] = field(
        default_factory=lambda: {
            "fastestFee": 20,
            "halfHourFee": 12,
            "hourFee": 8,
            "economyFee": 4,
            "minimumFee": 1,
        }
    )
    accepting: bool = True
    mempool: dict[str, dict[str, Any]] = field(default_factory=dict)
    confirmed: dict[str, tuple[dict[str, Any], Block]] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    listed_only: set[str] = field(default_factory=set)  # listed in txids, gone when fetched
    sequence: int = 0
    requests: list[str] = field(default_factory=list)
    received: list[Any] = field(default_factory=list)
    tracking: set[ServerConnection] = field(default_factory=set)
    electrs_port: int = 0
    _catch_up_pending: bool = False
    _server: Server | None = None
    _electrs: Server | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    @property
    def electrs_url(self) -> str:
        """The electrs beside an esplora-mode backend."""
        return f"http://{self.host}:{self.electrs_port}"

    @property
    def tip_height(self) -> int:
        return self.blocks[-1].height if self.blocks else FIRST_HEIGHT - 1

    async def start(self) -> MempoolSimulator:
        self._server = await serve(
            self._serve_socket,
            self.host,
            self.port,
            process_request=self._backend_request,
            max_size=MAX_MESSAGE_BYTES,
            ping_interval=None,  # the backend sends no protocol pings (it answers them)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self.backend == "esplora":
            self._electrs = await serve(
                self._serve_socket,
                self.host,
                self.electrs_port,
                process_request=self._electrs_request,
            )
            self.electrs_port = self._electrs.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for server in (self._server, self._electrs):
            if server is not None:
                server.close(close_connections=False)
                for connection in server.connections:
                    connection.transport.abort()
                await server.wait_closed()

    # --- what happens to the mempool ---------------------------------------------------------

    def _changed(self, frame: dict[str, Any]) -> str:
        """Count a mempool change and build its frame (the counter rises whoever listens)."""
        self.sequence += 1
        return json.dumps({"mempool-transactions": {"sequence": self.sequence, **frame}})

    async def push(
        self,
        added: Iterable[dict[str, Any]] = (),
        removed: Iterable[str] = (),
        mined: Iterable[str] = (),
        replaced: Iterable[tuple[str, dict[str, Any]]] = (),
        *,
        skip: int = 0,
    ) -> int:
        """Apply one raw update and push it; `skip` fakes updates this client missed."""
        added, removed, mined, replaced = list(added), list(removed), list(mined), list(replaced)
        for tx in added:
            if isinstance(tx, dict) and isinstance(tx.get("txid"), str):  # tests push garbage too
                self.mempool[tx["txid"]] = tx
        for txid in [*removed, *mined, *(old for old, _ in replaced)]:
            self.mempool.pop(txid, None)
        self.sequence += skip
        frame = {
            "added": added,
            "removed": removed,
            "mined": mined,
            "replaced": [{"replaced": old, "by": new} for old, new in replaced],
        }
        await self.send_raw(self._changed(frame))
        return self.sequence

    async def add(self, *txs: dict[str, Any]) -> None:
        await self.push(added=txs)

    def add_quietly(self, *txs: dict[str, Any]) -> None:
        """Transactions that arrived while nobody listened (their frame reached no one)."""
        for tx in txs:
            self.mempool[tx["txid"]] = tx
        self._changed({})

    async def drop(self, *txids: str) -> None:
        """Transactions that left without a block (expired, evicted, conflicted): `removed`."""
        await self.push(removed=txids)

    def drop_quietly(self, *txids: str) -> None:
        for txid in txids:
            self.mempool.pop(txid, None)
        self._changed({})

    async def replace(self, old: str, new: dict[str, Any]) -> None:
        """An RBF replacement: the new one `added`, the old one in `removed` and `replaced`."""
        self.mempool.pop(old, None)
        self.mempool[new["txid"]] = new
        frame = {"added": [new], "removed": [old], "mined": [], "replaced": [{"replaced": old, "by": new}]}  # fmt: skip
        await self.send_raw(self._changed(frame))

    def _new_block(self, txids: Iterable[str] | None) -> Block:
        chosen = list(self.mempool) if txids is None else [t for t in txids if t in self.mempool]
        height = self.tip_height + 1
        block_hash = hashlib.sha256(f"block {height}".encode()).hexdigest()
        coinbase = hashlib.sha256(f"coinbase {height}".encode()).hexdigest()
        block = Block(height, block_hash, int(time.time()), [coinbase, *chosen])
        for txid in chosen:
            self.confirmed[txid] = (self.mempool.pop(txid), block)
        self.blocks.append(block)
        return block

    async def mine(self, txids: Iterable[str] | None = None) -> Block:
        """A new block with these mempool transactions (default: all); `mined` goes only to the
        clients connected now."""
        block = self._new_block(txids)
        frame = {"added": [], "removed": [], "mined": block.txids, "replaced": []}
        await self.send_raw(self._changed(frame))
        return block

    def mine_quietly(self, txids: Iterable[str] | None = None) -> Block:
        """A block found while nobody listened: its `mined` frame is never sent again."""
        block = self._new_block(txids)
        self._changed({})
        return block

    def restart(self) -> None:
        """The backend restarts: clients are dropped, the counter starts again at 0, and the
        next client to track the mempool gets the startup catch-up."""
        self.disconnect_all()
        self.sequence = 0
        self._catch_up_pending = True

    async def _catch_up(self, connection: ServerConnection) -> None:
        self._catch_up_pending = False
        for block in self.blocks[-INITIAL_BLOCKS_AMOUNT:]:
            body = {"sequence": 0, "added": [], "removed": [], "mined": block.txids, "replaced": []}
            await connection.send(json.dumps({"mempool-transactions": body}))
        await connection.send(json.dumps({"loadingIndicators": {"mempool": 0}}))
        everything = list(self.mempool.values())
        body = {"sequence": 0, "added": everything, "removed": [], "mined": [], "replaced": []}
        await connection.send(json.dumps({"mempool-transactions": body}))
        await connection.send(json.dumps({"loadingIndicators": {}}))

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

    async def wait_for_tracking(self, count: int = 1, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.tracking) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.tracking)} of {count} clients track the mempool")
            await asyncio.sleep(0.01)

    # --- WebSocket ---------------------------------------------------------------------------

    def _tracks_mempool(self) -> bool:
        """`track-mempool` arrived with mempool 3.0 (websocket-handler.ts)."""
        major = self.version.lstrip("v").split(".", 1)[0]
        return not major.isdigit() or int(major) >= 3

    async def _serve_socket(self, connection: ServerConnection) -> None:
        try:
            async for message in connection:
                try:
                    request = json.loads(message)
                except ValueError:
                    await connection.close()
                    return
                if not isinstance(request, dict):
                    continue
                self.received.append(request)
                if request.get("track-mempool") is True and self._tracks_mempool():
                    self.tracking.add(connection)
                    if self._catch_up_pending:
                        await self._catch_up(connection)
                elif request.get("track-mempool") is False:
                    self.tracking.discard(connection)
                if request.get("action") == "ping":
                    await connection.send('{"pong": true}')
        except ConnectionClosed:
            pass
        finally:
            self.tracking.discard(connection)

    # --- REST --------------------------------------------------------------------------------

    def historical_price(self, query: str) -> tuple[HTTPStatus, Any]:
        """The `/api/v1/historical-price` answer: the price of the timestamp's UTC day at noon."""
        values = parse_qs(query)
        stamp = values.get("timestamp", [""])[0]
        if values.get("currency", ["USD"])[0] != "USD" or not stamp.isdigit():
            return HTTPStatus.BAD_REQUEST, {"error": "expected currency=USD and a unix timestamp"}
        day = datetime.fromtimestamp(int(stamp), UTC).date()
        price = self.historical_usd.get(day)
        noon = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())
        points = [] if price is None else [{"time": noon, "USD": price}]
        return HTTPStatus.OK, {"prices": points, "exchangeRates": {}}

    def backend_info(self) -> dict[str, Any]:
        return {
            "hostname": "simulator",
            "version": self.version,
            "gitCommit": "00000000",
            "lightning": False,
            "backend": self.backend,
            "coreVersion": "/Satoshi:28.0.0/",
            "osVersion": "Linux",
        }

    def _backend_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        path = parts.path
        self.requests.append(path)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if not self.accepting:
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable\n")
            return None
        if not path.startswith(API + "/"):
            return _cannot_get(connection, path)
        route = path.removeprefix(API)
        if route == "/prices":
            usd = -1 if self.price_usd is None else self.price_usd
            return _json(connection, {"time": int(time.time()), "USD": usd, "EUR": -1})
        if route == "/historical-price" and self.history:
            status, payload = self.historical_price(parts.query)
            return _json(connection, payload, status)
        if route == "/fees/recommended":
            return _json(connection, self.fees)
        if route == "/backend-info":
            return _json(connection, self.backend_info())
        if route == "/blocks/tip/height":
            return _text(connection, str(self.tip_height))
        if self.backend != "esplora":
            answer = self._transactions(connection, route, backend=True)
            if answer is not None:
                return answer
        return _cannot_get(connection, path)

    def _electrs_request(self, connection: ServerConnection, request: Request) -> Response:
        path = urlsplit(request.path).path
        self.requests.append(f"electrs:{path}")
        if path == "/blocks/tip/height":
            return _text(connection, str(self.tip_height))
        if path == "/block-height/0":
            return _text(connection, MAINNET_GENESIS)
        answer = self._transactions(connection, path, backend=False)
        return answer or connection.respond(HTTPStatus.NOT_FOUND, "Not Found")

    def _transactions(
        self, connection: ServerConnection, route: str, *, backend: bool
    ) -> Response | None:
        """`mempool/txids`, `tx/:txid`, `tx/:txid/status`, as the backend (or electrs) answers."""
        if route == "/mempool/txids":
            return _json(connection, [*self.mempool, *self.listed_only])
        match = _TX_PATH.match(route) or _TX_STATUS_PATH.match(route)
        if match is None:
            return None
        txid = match.group(1).lower()
        wants_status = route.endswith("/status")
        if txid in self.mempool:
            tx = self.mempool[txid]
            return _json(connection, {"confirmed": False} if wants_status else tx)
        if txid in self.confirmed and (self.txindex or not backend):
            tx, block = self.confirmed[txid]
            status = {
                "confirmed": True,
                "block_height": block.height,
                "block_hash": block.hash,
                "block_time": block.time,
            }
            return _json(connection, status if wants_status else {**tx, "status": status})
        if backend and not self.txindex:  # Core without -txindex: the backend gives up
            return _json(connection, {"error": "Failed to get transaction"}, HTTPStatus(500))
        if backend:
            error = {"error": "No such mempool or blockchain transaction"}
            return _json(connection, error, HTTPStatus.NOT_FOUND)
        return connection.respond(HTTPStatus.NOT_FOUND, "Transaction not found")


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
        if added:
            await simulator.add(*added)
        if next_block is not None and clock() >= next_block:
            await simulator.mine(list(simulator.mempool)[: rng.randint(1, 3_000)])
            next_block = clock() + block_every
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), update_every)


def _json(
    connection: ServerConnection, payload: Any, status: HTTPStatus = HTTPStatus.OK
) -> Response:
    response = connection.respond(status, json.dumps(payload))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    return response


def _text(connection: ServerConnection, text: str) -> Response:
    response = connection.respond(HTTPStatus.OK, text)
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


def _cannot_get(connection: ServerConnection, path: str) -> Response:
    """Express's 404 page for a route the backend does not register."""
    page = f'<!DOCTYPE html>\n<html lang="en">\n<body>\n<pre>Cannot GET {path}</pre>\n</body>\n</html>\n'
    response = connection.respond(HTTPStatus.NOT_FOUND, page)
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response


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
    simulator = MempoolSimulator(
        args.host,
        args.port,
        backend=args.backend,
        version=args.version,
        price_usd=None if args.no_price else args.price,
        history=not args.no_history,
        historical_usd=args.historical_prices,
        electrs_port=args.electrs_port,
    )
    await simulator.start()
    extra = f", electrs {simulator.electrs_url}" if args.backend == "esplora" else ""
    print(f"mempool simulator: {simulator.url} (WebSocket {simulator.ws_url}{extra})", flush=True)
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
    parser.add_argument("--no-price", action="store_true", help="answer USD: -1 (no fiat prices)")
    parser.add_argument(
        "--historical-prices",
        type=load_prices,
        default={},
        metavar="FILE",
        help='/api/v1/historical-price answers from this JSON object of "YYYY-MM-DD": USD',
    )
    parser.add_argument(
        "--no-history", action="store_true", help="no database: historical-price is 404"
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="none",
        help="the backend's BACKEND; esplora also starts an electrs stand-in on --electrs-port",
    )
    parser.add_argument("--electrs-port", type=int, default=0)
    parser.add_argument("--version", default="3.4-dev", help="what backend-info says")
    args = parser.parse_args(argv)
    stop_on_signals()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
