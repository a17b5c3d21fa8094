"""A deterministic synthetic Bitcoin chain and a loopback server for it (Esplora REST + Core RPC).

`SimulatedChain` generates each block from `(seed, height)` alone, on demand, so a chain of many
days costs nothing until a block is asked for. Every day has 144 blocks, ten minutes apart with a
seeded jitter (some timestamps run backwards, never across midnight unless `time_overrides` says
so). Blocks carry a realistic mix of segwit and legacy payments, a share of which pay round USD
amounts at the planted price (with a linear intraday drift), plus every category the UTXOracle
filters drop: many inputs, outputs other than two, OP_RETURN, large witness, same-day spends and the
coinbase. With `decoy_price` set, those dropped categories pay round USD amounts at the decoy price
instead, so a filter that fails to drop them pulls the computed price toward the decoy.

Block hashes are real double SHA-256 hashes of the headers and merkle roots are real; the
prev-block field holds a deterministic label of the parent rather than its hash, so blocks stay
independent of one another (no proof of work is simulated).

`SimulatorServer` serves a chain over HTTP on one port as the real software does:

- Esplora, as Blockstream/mempool electrs `src/rest.rs`: `GET /blocks/tip/height`,
  `/block-height/:h` (text hash; 404 outside the chain; height 0 is the genesis block of the
  network served, as electrs indexes from it), `/block/:hash/header`, `/block/:hash/raw`,
  `/block/:hash`.
- Bitcoin Core JSON-RPC, as bitcoin/bitcoin `src/httprpc.cpp` and `src/rpc/`: `POST /` with
  `getblockcount`, `getblockhash`, `getblockheader`, `getblock`, `getblockchaininfo` (chain, initial
  block download, pruning); batches (always HTTP 200); basic auth from a cookie file or
  user/password (401 with an empty body); a method outside `rpc_whitelist` is 403 with an empty
  body; a failing single call answers Core's error object with HTTP 500, 404 for an unknown method
  and 400 for an invalid request.
- With `rest=True`, Core's REST interface (`src/rest.rs`, `doc/REST-interface.md`), without
  authentication: `/rest/block/<hash>.bin`, `/rest/chaininfo.json`; without it those paths are 404.

The tip is where the chain ends for its clients; it may move. `Miner` grows it while the server
runs (`--mine-every`): from a few blocks before the end of the last day, one block every few seconds
until the chain reaches the present (and at least until the last day can be priced, even in the
first hour of a UTC day), then one as each block's time comes, so that a day completes and the next
one forms while a demo runs. Tests move `SimulatedChain.tip` themselves.

`network` switches what the node says it is (`main`, `test`, `testnet4`, `signet`, `regtest`) for
the tests of the network check. `Faults` injects failures for tests and demos. Run it with
`python -m simulators.chain --help`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import math
import random
import secrets
import signal
import threading
import time as time_module
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from core.upstreams import GENESIS_HASHES, NETWORK_NAMES
from prices.utxoracle.parser import merkle_root

BLOCKS_PER_DAY = 144
BLOCK_INTERVAL = 600
LEAD_BLOCKS = 12  # blocks before the first day's midnight
TAIL_BLOCKS = 12  # blocks after the last day, so that tip - 6 lies on the next day
ANCHORS_PER_BLOCK = 4  # payments that later blocks of the same day may spend

# Round USD amounts and how popular they are (shaped after the v9.1 spike stencil).
ROUND_USD = (1, 5, 10, 15, 20, 30, 50, 100, 150, 200, 300, 500, 1000, 1500, 2000, 5000, 10000)
ROUND_USD_WEIGHTS = (13, 17, 55, 19, 59, 53, 118, 181, 29, 74, 53, 38, 61, 13, 30, 12, 8)
ROUND_BTC = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0)

CATEGORIES = (
    "payment",
    "many_inputs",
    "other_outputs",
    "op_return",
    "large_witness",
    "same_day",
)
DEFAULT_MIX = {
    "payment": 0.70,
    "many_inputs": 0.05,
    "other_outputs": 0.12,
    "op_return": 0.04,
    "large_witness": 0.04,
    "same_day": 0.05,
}


def encode_varint(value: int) -> bytes:
    """Bitcoin's CompactSize encoding."""
    if value < 0xFD:
        return bytes((value,))
    if value <= 0xFFFF:
        return b"\xfd" + value.to_bytes(2, "little")
    if value <= 0xFFFFFFFF:
        return b"\xfe" + value.to_bytes(4, "little")
    return b"\xff" + value.to_bytes(8, "little")


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


@dataclass(frozen=True, slots=True)
class TxIn:
    """One input: the spent outpoint, the scriptSig and (segwit) the witness stack."""

    txid: bytes
    index: int
    script: bytes = b""
    witness: tuple[bytes, ...] = ()


def serialize_tx(
    inputs: list[TxIn], outputs: list[tuple[int, bytes]], *, segwit: bool, locktime: int = 0
) -> tuple[bytes, bytes]:
    """Serialize a version-2 transaction; return (raw bytes, txid in internal byte order)."""
    body = [encode_varint(len(inputs))]
    for tx_in in inputs:
        body += (
            tx_in.txid,
            tx_in.index.to_bytes(4, "little"),
            encode_varint(len(tx_in.script)),
            tx_in.script,
            b"\xfd\xff\xff\xff",
        )
    body.append(encode_varint(len(outputs)))
    for value, script in outputs:
        body += (value.to_bytes(8, "little"), encode_varint(len(script)), script)
    version = b"\x02\x00\x00\x00"
    tail = locktime.to_bytes(4, "little")
    stripped = b"".join(body)
    txid = _sha256d(version + stripped + tail)
    if not segwit:
        return version + stripped + tail, txid
    witness = []
    for tx_in in inputs:
        witness.append(encode_varint(len(tx_in.witness)))
        for item in tx_in.witness:
            witness += (encode_varint(len(item)), item)
    return version + b"\x00\x01" + stripped + b"".join(witness) + tail, txid


def assemble_block(
    txs: list[bytes], txids: list[bytes], *, time: int, parent: bytes = bytes(32), nonce: int = 0
) -> bytes:
    """A serialized block: an 80-byte header (with the real merkle root) and the transactions."""
    header = b"".join(
        (
            (0x20000000).to_bytes(4, "little"),
            parent,
            merkle_root(b"".join(txids)),
            time.to_bytes(4, "little"),
            (0x17034219).to_bytes(4, "little"),
            nonce.to_bytes(4, "little"),
        )
    )
    return header + encode_varint(len(txs)) + b"".join(txs)


@dataclass(frozen=True)
class ChainParams:
    """Everything that determines a simulated chain; equal params give identical bytes."""

    seed: int = 1
    start_date: date = date(2025, 1, 1)
    days: int = 1
    price: float = 63_000.0
    daily_change: float = 0.0  # standard deviation of the day-to-day log price change
    intraday_drift: float = 0.01  # relative price change from the day's start to its end
    txs_per_block: int = 300
    segwit_share: float = 0.7
    round_usd_share: float = 0.35  # share of payments with a round USD output
    decoy_price: float | None = None
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    disorder: float = 0.05  # share of blocks stamped before their predecessor
    time_overrides: Mapping[int, int] = field(default_factory=dict)  # height -> timestamp
    base_height: int = 870_000


class SimulatedChain:
    """A lazily generated chain: blocks are built per height and kept in a bounded cache."""

    def __init__(self, params: ChainParams, cache_blocks: int = 256) -> None:
        if params.days < 1 or params.txs_per_block < 2:
            raise ValueError("a chain needs at least one day and two transactions per block")
        unknown = set(params.mix) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown transaction categories: {sorted(unknown)}")
        self.params = params
        self.first_midnight = int(
            datetime(*params.start_date.timetuple()[:3], tzinfo=UTC).timestamp()
        )
        self.tip = params.base_height + LEAD_BLOCKS + params.days * BLOCKS_PER_DAY + TAIL_BLOCKS - 1
        self._categories = list(params.mix)
        self._weights = list(params.mix.values())
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_blocks = cache_blocks
        self._hashes: dict[int, str] = {}
        self._heights: dict[str, int] = {}
        self._lock = threading.Lock()
        self._day_prices = self._planted_day_prices()

    # --- time and price -------------------------------------------------------------------

    def _rng(self, *parts: object) -> random.Random:
        digest = hashlib.sha256(":".join(map(str, (self.params.seed, *parts))).encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "little"))

    def _planted_day_prices(self) -> list[float]:
        rng = self._rng("day-prices")
        prices = [self.params.price]
        for _ in range(self.params.days + 1):
            prices.append(prices[-1] * math.exp(rng.gauss(0.0, self.params.daily_change)))
        return prices

    def block_time(self, height: int) -> int:
        """The header time of a block (no transaction is generated for this)."""
        self._check_height(height)
        if height in self.params.time_overrides:
            return self.params.time_overrides[height]
        slot = height - self.params.base_height - LEAD_BLOCKS
        nominal = self.first_midnight + slot * BLOCK_INTERVAL + BLOCK_INTERVAL // 2
        rng = self._rng("time", height)
        jitter = rng.randint(-250, 250)
        if slot % BLOCKS_PER_DAY >= 3 and rng.random() < self.params.disorder:
            jitter = -rng.randint(700, 1000)  # earlier than the previous block, same day
        return nominal + jitter

    def day_price(self, day: date) -> float:
        """The planted price at the middle of a served day."""
        index = (day - self.params.start_date).days
        if not 0 <= index < self.params.days:
            raise ValueError(f"{day} is not a day of this chain")
        return self._day_prices[index]

    @property
    def complete_height(self) -> int:
        """The tip at which the chain's last day can be priced: its end and 6 more blocks (the
        oracle's confirmations) on top of the next day's first block. In the first hour of a UTC
        day these blocks are ahead of the clock, by at most 70 minutes (Bitcoin accepts 2 hours)."""
        return self.last_day_end + 7

    @property
    def last_day_end(self) -> int:
        """The height of the last block of the chain's last day."""
        return self.params.base_height + LEAD_BLOCKS + self.params.days * BLOCKS_PER_DAY - 1

    def height_due(self, now: float) -> int:
        """The highest block whose nominal time (before its jitter) is at or before `now`."""
        slot = math.floor((now - self.first_midnight - BLOCK_INTERVAL // 2) / BLOCK_INTERVAL)
        return self.params.base_height + LEAD_BLOCKS + slot

    def price_at(self, height: int) -> float:
        """The planted price when a block was mined (linear drift through its day)."""
        slot = height - self.params.base_height - LEAD_BLOCKS
        day, position = divmod(slot, BLOCKS_PER_DAY)
        base = self._day_prices[min(max(day, 0), self.params.days)]
        fraction = (position + 0.5) / BLOCKS_PER_DAY
        return base * (1 + self.params.intraday_drift * (fraction - 0.5))

    @property
    def days(self) -> list[date]:
        """The UTC days fully covered by the chain."""
        return [self.params.start_date + timedelta(days=i) for i in range(self.params.days)]

    # --- blocks ---------------------------------------------------------------------------

    def _check_height(self, height: int) -> None:
        if not self.params.base_height <= height <= self.tip:
            raise KeyError(height)

    def block(self, height: int) -> bytes:
        """The raw block at `height` (generated once, then served from the cache)."""
        self._check_height(height)
        with self._lock:
            raw = self._cache.get(height)
            if raw is not None:
                self._cache.move_to_end(height)
                return raw
        raw = self._generate_block(height)
        with self._lock:
            self._cache[height] = raw
            while len(self._cache) > self._cache_blocks:
                self._cache.popitem(last=False)
            block_hash = _sha256d(raw[:80])[::-1].hex()
            self._hashes[height] = block_hash
            self._heights[block_hash] = height
        return raw

    def block_hash(self, height: int) -> str:
        """The hex hash of the block at `height`."""
        self._check_height(height)
        with self._lock:
            known = self._hashes.get(height)
        return known if known is not None else _sha256d(self.block(height)[:80])[::-1].hex()

    def height_of(self, block_hash: str) -> int:
        """The height of a hash handed out before; KeyError for any other."""
        with self._lock:
            return self._heights[block_hash]

    def header(self, height: int) -> bytes:
        return self.block(height)[:80]

    def _generate_block(self, height: int) -> bytes:
        rng = self._rng("block", height)
        price = self.price_at(height)
        txs = [self._coinbase(height, rng)]
        anchors = [self._anchor(height, slot) for slot in range(ANCHORS_PER_BLOCK)]
        txs += anchors
        recent = [(raw, txid) for raw, txid in anchors]
        filler = _Filler(rng, self.params, price)
        while len(txs) < self.params.txs_per_block:
            category = rng.choices(self._categories, self._weights)[0]
            if category == "same_day":
                tx = self._same_day(height, rng, recent, filler)
            else:
                tx = filler.tx(category)
            txs.append(tx)
            if len(recent) < 64:
                recent.append(tx)
        txs = txs[: self.params.txs_per_block]
        return assemble_block(
            [raw for raw, _ in txs],
            [txid for _, txid in txs],
            time=self.block_time(height),
            parent=_sha256d(f"{self.params.seed}:label:{height - 1}".encode()),
            nonce=rng.getrandbits(32),
        )

    def _coinbase(self, height: int, rng: random.Random) -> tuple[bytes, bytes]:
        """A legacy coinbase with two outputs (decoy amounts when a decoy is set)."""
        script = b"\x03" + height.to_bytes(3, "little") + rng.randbytes(8)
        filler = _Filler(rng, self.params, self.price_at(height))
        if self.params.decoy_price:
            outputs = [filler.decoy_output(), filler.decoy_output()]
        else:
            outputs = [(312_500_000, filler.script()), (0, b"\x51")]
        return serialize_tx([TxIn(b"\x00" * 32, 0xFFFFFFFF, script)], outputs, segwit=False)

    def _anchor(self, height: int, slot: int) -> tuple[bytes, bytes]:
        """A payment built from (seed, height, slot) only, so later blocks can spend it."""
        return _Filler(self._rng("anchor", height, slot), self.params, self.price_at(height)).tx(
            "payment"
        )

    def _same_day(
        self,
        height: int,
        rng: random.Random,
        recent: list[tuple[bytes, bytes]],
        filler: _Filler,
    ) -> tuple[bytes, bytes]:
        """A two-output payment spending this block's earlier txs or an anchor of the last 3."""
        back = rng.randint(0, 3)
        if back and height - back >= self.params.base_height:
            _, spent = self._anchor(height - back, rng.randrange(ANCHORS_PER_BLOCK))
        else:
            _, spent = rng.choice(recent)
        return filler.tx("same_day", spent=spent)


class _Filler:
    """Builds the transactions of one block from its random stream."""

    def __init__(self, rng: random.Random, params: ChainParams, price: float) -> None:
        self.rng = rng
        self.params = params
        self.price = price
        self.sig = rng.randbytes(72)
        self.key = b"\x02" + rng.randbytes(32)

    def script(self) -> bytes:
        kind = self.rng.random()
        if kind < 0.5:
            return b"\x00\x14" + self.rng.randbytes(20)
        if kind < 0.8:
            return b"\x51\x20" + self.rng.randbytes(32)
        return b"\x76\xa9\x14" + self.rng.randbytes(20) + b"\x88\xac"

    def _usd_sats(self, price: float) -> int:
        usd = self.rng.choices(ROUND_USD, ROUND_USD_WEIGHTS)[0]
        return max(1, round(usd / price * 1e8))

    def decoy_output(self) -> tuple[int, bytes]:
        return self._usd_sats(self.params.decoy_price or self.price), self.script()

    def _random_sats(self) -> int:
        return max(1, int(10 ** self.rng.gauss(5.3, 1.1)))

    def payment_output(self) -> tuple[int, bytes]:
        roll = self.rng.random()
        if roll < self.params.round_usd_share:
            return self._usd_sats(self.price), self.script()
        if roll < self.params.round_usd_share + 0.03:
            return round(self.rng.choice(ROUND_BTC) * 1e8), self.script()
        return self._random_sats(), self.script()

    def _inputs(self, count: int, segwit: bool, big_witness: bool = False) -> list[TxIn]:
        inputs = []
        for _ in range(count):
            prev = self.rng.randbytes(32)
            index = self.rng.randrange(4)
            if not segwit:
                inputs.append(TxIn(prev, index, b"\x48" + self.sig + b"\x21" + self.key))
            elif big_witness:
                if self.rng.random() < 0.5:
                    witness = (self.sig, self.rng.randbytes(self.rng.randint(501, 1200)))
                else:
                    witness = (self.sig, *(self.rng.randbytes(150) for _ in range(3)))
                inputs.append(TxIn(prev, index, b"", witness))
            else:
                inputs.append(TxIn(prev, index, b"", (self.sig, self.key)))
        return inputs

    def tx(self, category: str, spent: bytes | None = None) -> tuple[bytes, bytes]:
        """One transaction of the given category."""
        rng = self.rng
        decoy = self.params.decoy_price is not None and category != "payment"
        segwit = category == "large_witness" or rng.random() < self.params.segwit_share
        n_in = rng.randint(6, 12) if category == "many_inputs" else rng.choice((1, 1, 1, 2, 2, 3))
        inputs = self._inputs(n_in, segwit, big_witness=category == "large_witness")
        if spent is not None:
            inputs[0] = TxIn(spent, 0, inputs[0].script, inputs[0].witness)
        n_out = rng.choice((1, 3, 3, 4, 5, 8)) if category == "other_outputs" else 2
        make = self.decoy_output if decoy else self.payment_output
        outputs = [make()] + [
            (self._random_sats(), self.script()) if not decoy else make() for _ in range(n_out - 1)
        ]
        if category == "op_return":
            outputs[1] = (0, b"\x6a\x20" + rng.randbytes(32))
        return serialize_tx(inputs, outputs, segwit=segwit, locktime=rng.randrange(2) * 800_000)


class Miner:
    """Grows a chain's tip in a background thread: one block every `seconds_per_block` of wall
    time, never past the block whose time has come (`height_due`), so a chain that starts behind
    the clock catches up quickly and then follows it at one block every ten minutes."""

    def __init__(
        self, chain: SimulatedChain, seconds_per_block: float, ahead_to: int | None = None
    ) -> None:
        self.chain = chain
        self.seconds_per_block = seconds_per_block
        self.ahead_to = ahead_to  # a height it may reach before its time (see `complete_height`)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="miner", daemon=True)

    def start(self) -> Miner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def mine_once(self, now: float) -> bool:
        """Add one block when one is due at `now`; whether it did."""
        if self.chain.tip >= max(self.chain.height_due(now), self.ahead_to or 0):
            return False
        self.chain.tip += 1
        self.chain.block_hash(self.chain.tip)  # generated now rather than on a client's request
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.seconds_per_block):
            self.mine_once(time_module.time())


# --- loopback server ----------------------------------------------------------------------

NETWORKS = tuple(NETWORK_NAMES)


@dataclass
class Faults:
    """Failures to inject; heights select the blocks whose responses are damaged."""

    http_500: bool = False  # every request answers HTTP 500
    delay_s: float = 0.0  # sleep before answering
    bad_hex_heights: set[int] = field(default_factory=set)  # raw block as invalid hex
    truncate_heights: set[int] = field(default_factory=set)  # raw block cut in half
    flip_heights: set[int] = field(default_factory=set)  # one bit of a transaction flipped
    swap_heights: set[int] = field(default_factory=set)  # the next block's bytes instead


class RpcError(Exception):
    """A JSON-RPC error in Bitcoin Core's shape."""

    def __init__(self, code: int, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class SimulatorServer:
    """Serve a `SimulatedChain` as Esplora REST and Bitcoin Core JSON-RPC on one loopback port."""

    def __init__(
        self,
        chain: SimulatedChain,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        cookie_file: str | Path | None = None,
        rpc_user: str | None = None,
        rpc_password: str | None = None,
        faults: Faults | None = None,
        network: str = "main",
        initial_block_download: bool = False,
        prune_height: int | None = None,
        rest: bool = False,
        rpc_whitelist: frozenset[str] | None = None,
        mine_every: float | None = None,
    ) -> None:
        self.chain = chain
        self.miner = None
        if mine_every is not None:
            self.miner = Miner(chain, mine_every, ahead_to=chain.complete_height)
        self.faults = faults or Faults()
        self.genesis = {chain: block for block, chain in GENESIS_HASHES.items()}[network]
        self.network = network
        self.initial_block_download = initial_block_download
        self.prune_height = prune_height
        self.rest = rest
        self.rpc_whitelist = rpc_whitelist
        self.credentials: set[str] = set()
        if rpc_user and rpc_password:
            self.credentials.add(f"{rpc_user}:{rpc_password}")
        self.cookie_file = Path(cookie_file) if cookie_file else None
        if self.cookie_file:
            cookie = f"__cookie__:{secrets.token_hex(32)}"
            self.cookie_file.write_text(cookie)
            self.credentials.add(cookie)
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SimulatorServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._serving = True
        if self.miner is not None:
            self.miner.start()
        self._httpd.serve_forever(poll_interval)

    def stop(self) -> None:
        if self._serving:
            self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join()
        if self.miner is not None:
            self.miner.stop()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- content with faults applied --------------------------------------------------------

    def raw_block(self, height: int) -> bytes:
        raw = self.chain.block(height + 1 if height in self.faults.swap_heights else height)
        if height in self.faults.truncate_heights:
            return raw[: len(raw) // 2]
        if height in self.faults.flip_heights:  # the last transaction's locktime
            return raw[:-1] + bytes((raw[-1] ^ 0x10,))
        return raw

    def block_hex(self, height: int) -> bytes:
        text = binascii.hexlify(self.raw_block(height))
        return b"zz" + text[2:] if height in self.faults.bad_hex_heights else text

    def height_of(self, block_hash: str) -> int:
        try:
            return self.chain.height_of(block_hash)
        except KeyError:
            raise RpcError(-5, "Block not found") from None

    def hash_at(self, height: int) -> str | None:
        """The hash at a height: the network's genesis block at 0, None outside the chain."""
        if height == 0:
            return self.genesis
        if not self.chain.params.base_height <= height <= self.chain.tip:
            return None
        return self.chain.block_hash(height)

    def chain_info(self) -> dict[str, Any]:
        """What getblockchaininfo says."""
        tip = self.chain.tip
        info = {
            "chain": self.network,
            "blocks": tip,
            "headers": tip + (1000 if self.initial_block_download else 0),
            "bestblockhash": self.chain.block_hash(tip),
            "initialblockdownload": self.initial_block_download,
            "verificationprogress": 0.5 if self.initial_block_download else 1.0,
            "pruned": self.prune_height is not None,
        }
        if self.prune_height is not None:
            info.update(pruneheight=self.prune_height, automatic_pruning=True)
        return info

    def rpc(self, method: str, params: list[Any]) -> Any:
        """Answer one JSON-RPC call like Bitcoin Core does."""
        chain = self.chain
        if method == "getblockcount":
            return chain.tip
        if method == "getblockchaininfo":
            return self.chain_info()
        if method == "getblockhash":
            found = self.hash_at(_int_param(params, 0))
            if found is None:
                raise RpcError(-8, "Block height out of range")
            return found
        if method == "getblockheader":
            height = self.height_of(_str_param(params, 0))
            verbose = params[1] if len(params) > 1 else True
            if not verbose:
                return chain.header(height).hex()
            return {
                "hash": chain.block_hash(height),
                "height": height,
                "time": chain.block_time(height),
                "confirmations": chain.tip - height + 1,
            }
        if method == "getblock":
            height = self.height_of(_str_param(params, 0))
            verbosity = params[1] if len(params) > 1 else 1
            if verbosity != 0:
                raise RpcError(-8, "only verbosity 0 is simulated")
            if self.prune_height is not None and height < self.prune_height:
                raise RpcError(-1, "Block not available (pruned data)")
            return self.block_hex(height)
        raise RpcError(-32601, "Method not found", status=404)


def _int_param(params: list[Any], index: int) -> int:
    value = params[index] if len(params) > index else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise RpcError(-3, f"JSON value of type {type(value).__name__} is not of expected type int")
    return value


def _str_param(params: list[Any], index: int) -> str:
    value = params[index] if len(params) > index else None
    if not isinstance(value, str) or len(value) != 64:
        raise RpcError(-8, "blockhash must be of length 64")
    return value


def _text_result(reply: dict[str, Any]) -> dict[str, Any]:
    """A reply whose hex result (bytes) is turned into text for the JSON encoder."""
    if isinstance(reply["result"], bytes):
        return {**reply, "result": reply["result"].decode()}
    return reply


def _make_handler(server: SimulatorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="jsonrpc"')
            self.end_headers()
            self.wfile.write(body)

        def _faulted(self) -> bool:
            if server.faults.delay_s:
                time_module.sleep(server.faults.delay_s)
            if server.faults.http_500:
                self._send(500, b"Internal Server Error")
                return True
            return False

        def do_GET(self) -> None:
            if self._faulted():
                return
            path = self.path.split("?")[0].strip("/")
            if path.startswith("rest/"):
                status, body, content_type = self._rest(path)
            else:
                status, body, content_type = self._esplora(path)
            self._send(status, body, content_type)

        def _rest(self, path: str) -> tuple[int, bytes, str]:
            if not server.rest:
                return 404, b"", "text/html"
            if path == "rest/chaininfo.json":
                return 200, json.dumps(server.chain_info()).encode(), "application/json"
            parts = path.split("/")
            if len(parts) == 3 and parts[1] == "block" and parts[2].endswith(".bin"):
                try:
                    height = server.height_of(parts[2].removesuffix(".bin"))
                except RpcError:
                    return 404, f"{parts[2][:-4]} not found\r\n".encode(), "text/plain"
                if server.prune_height is not None and height < server.prune_height:
                    return 404, b"not available (pruned data)\r\n", "text/plain"
                return 200, server.raw_block(height), "application/octet-stream"
            return 400, b"Invalid URI format\r\n", "text/plain"

        def _esplora(self, path: str) -> tuple[int, bytes, str]:
            chain = server.chain
            parts = path.split("/")
            try:
                if parts == ["blocks", "tip", "height"]:
                    return 200, str(chain.tip).encode(), "text/plain"
                if len(parts) == 2 and parts[0] == "block-height" and parts[1].isdigit():
                    found = server.hash_at(int(parts[1]))
                    if found is None:
                        return 404, b"Block not found", "text/plain"
                    return 200, found.encode(), "text/plain"
                if len(parts) in (2, 3) and parts[0] == "block":
                    height = server.height_of(parts[1])
                    if len(parts) == 2:
                        info = {
                            "id": parts[1],
                            "height": height,
                            "timestamp": chain.block_time(height),
                            "size": len(chain.block(height)),
                        }
                        return 200, json.dumps(info).encode(), "application/json"
                    if parts[2] == "header":
                        return 200, chain.header(height).hex().encode(), "text/plain"
                    if parts[2] == "raw":
                        return 200, server.raw_block(height), "application/octet-stream"
            except RpcError:
                return 404, b"Block not found", "text/plain"
            return 404, b"Not Found", "text/plain"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if not self._authorized():
                self._send(401, b"")
                return
            if self._faulted():
                return
            try:
                request = json.loads(body)
            except ValueError:
                self._reply(500, None, RpcError(-32700, "Parse error"))
                return
            if not self._whitelisted(request if isinstance(request, list) else [request]):
                self._send(403, b"")
                return
            if isinstance(request, list):
                replies = [self._call(item) for item in request]
                payload = [_text_result(reply) for _, reply in replies]
                self._send(200, json.dumps(payload).encode(), "application/json")
                return
            status, reply = self._call(request)
            result = reply["result"]
            if isinstance(result, bytes):  # a block's hex: spare the JSON encoder megabytes
                tail = f'","error":null,"id":{json.dumps(reply["id"])}}}'.encode()
                self._send(status, b"".join((b'{"result":"', result, tail)), "application/json")
                return
            self._send(status, json.dumps(reply).encode(), "application/json")

        def _whitelisted(self, requests: list[Any]) -> bool:
            """Core refuses the whole request when one method is outside -rpcwhitelist."""
            allowed = server.rpc_whitelist
            return allowed is None or all(
                isinstance(r, dict) and r.get("method") in allowed for r in requests
            )

        def _reply(self, status: int, request_id: Any, error: RpcError) -> None:
            reply = {"result": None, "error": {"code": error.code, "message": error.message}}
            self._send(status, json.dumps({**reply, "id": request_id}).encode(), "application/json")

        def _call(self, request: Any) -> tuple[int, dict[str, Any]]:
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                error = {"code": -32600, "message": "Invalid Request object"}
                return 400, {"result": None, "error": error, "id": None}
            request_id = request.get("id")
            params = request.get("params") or []
            try:
                result = server.rpc(request["method"], list(params))
            except RpcError as exc:
                error = {"code": exc.code, "message": exc.message}
                return exc.status, {"result": None, "error": error, "id": request_id}
            return 200, {"result": result, "error": None, "id": request_id}

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return False
            try:
                given = base64.b64decode(header[6:], validate=True).decode()
            except ValueError:
                return False
            return any(secrets.compare_digest(given, c) for c in server.credentials)

    return Handler


def _override(text: str) -> tuple[int, int]:
    height, _, stamp = text.partition("=")
    if not (height.isdigit() and stamp.isdigit()):
        raise argparse.ArgumentTypeError(f"expected HEIGHT=UNIXTIME, got {text!r}")
    return int(height), int(stamp)


def server_from_args(argv: list[str] | None = None) -> SimulatorServer:
    """The server the command line describes (not started yet)."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.chain",
        description="Serve a deterministic synthetic chain as Esplora REST and Core JSON-RPC.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18443)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start-date", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--price", type=float, default=63_000.0)
    parser.add_argument("--daily-change", type=float, default=0.0)
    parser.add_argument("--intraday-drift", type=float, default=0.01)
    parser.add_argument("--txs-per-block", type=int, default=300)
    parser.add_argument("--decoy-price", type=float, default=None)
    parser.add_argument(
        "--disorder", type=float, default=0.05, help="share of blocks stamped early"
    )
    parser.add_argument(
        "--time-override",
        type=_override,
        action="append",
        default=[],
        metavar="HEIGHT=UNIXTIME",
        help="stamp a block with this time (repeatable)",
    )
    parser.add_argument("--cookie-file", default=None, help="write an RPC cookie here")
    parser.add_argument("--rpc-user", default=None)
    parser.add_argument("--rpc-password", default=None)
    parser.add_argument(
        "--network",
        choices=sorted(NETWORKS),
        default="main",
        help="the chain the node says it serves (its genesis block at height 0)",
    )
    parser.add_argument("--rest", action="store_true", help="serve Core's REST interface too")
    parser.add_argument(
        "--initial-block-download", action="store_true", help="say the node is still syncing"
    )
    parser.add_argument("--prune-height", type=int, default=None, help="say the node is pruned")
    parser.add_argument("--cache-blocks", type=int, default=512)
    parser.add_argument("--warm", action="store_true", help="generate every block at start")
    parser.add_argument(
        "--mine-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="grow the tip: a block every SECONDS until it reaches the present (at least until the"
        " last day can be priced), then in time",
    )
    parser.add_argument(
        "--start-behind",
        type=int,
        default=12,
        metavar="BLOCKS",
        help="with --mine-every: start this many blocks before the end of the last day",
    )
    args = parser.parse_args(argv)
    params = ChainParams(
        seed=args.seed,
        start_date=args.start_date,
        days=args.days,
        price=args.price,
        daily_change=args.daily_change,
        intraday_drift=args.intraday_drift,
        txs_per_block=args.txs_per_block,
        decoy_price=args.decoy_price,
        disorder=args.disorder,
        time_overrides=dict(args.time_override),
    )
    chain = SimulatedChain(params, cache_blocks=args.cache_blocks)
    if args.mine_every is not None:
        chain.tip = chain.last_day_end - args.start_behind
    if args.warm:
        for height in range(params.base_height, chain.tip + 1):
            chain.block_hash(height)
    return SimulatorServer(
        chain,
        args.host,
        args.port,
        cookie_file=args.cookie_file,
        rpc_user=args.rpc_user,
        rpc_password=args.rpc_password,
        network=args.network,
        initial_block_download=args.initial_block_download,
        prune_height=args.prune_height,
        rest=args.rest,
        mine_every=args.mine_every,
    )


def stop_on_signals() -> None:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt, whatever this process inherited (a shell
    starts background jobs with SIGINT ignored)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)


def main(argv: list[str] | None = None) -> None:
    """Command line: serve a simulated chain until SIGINT or SIGTERM."""
    stop_on_signals()
    server = server_from_args(argv)
    chain = server.chain
    print(
        f"simulated chain: heights {chain.params.base_height}..{chain.tip},"
        f" days {chain.days[0]}..{chain.days[-1]}, serving Esplora and RPC at {server.url}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
