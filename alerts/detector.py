"""Decide which mempool transactions are whales and describe them: pure functions, no I/O.

Input is what the mempool backend pushes (`mempool-transactions` frames, amounts in satoshis);
anything malformed raises `MalformedData` with a reason short enough for one log line.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SATS_PER_BTC = 100_000_000
MAX_MONEY_SATS = 21_000_000 * SATS_PER_BTC
MAX_VSIZE = 1_000_000  # a whole block
MAX_FEE_RATE = 1e7  # sat/vB; anything above is garbage
MAX_IO_COUNT = 100_000
MAX_SEQUENCE = 0xFFFFFFFF
RBF_SEQUENCE_LIMIT = 0xFFFFFFFE  # BIP-125: an input sequence below this signals replaceability
EARLIEST_FIRST_SEEN = 1_231_006_505  # the genesis block
CONFIRMATION_LEVELS = ("next_block", "within_3", "within_6", "later")
_URGENCY_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # minimum, economy, hour, half hour, fastest
_TXID = re.compile(r"^[0-9a-fA-F]{64}$")


class MalformedData(ValueError):
    """Upstream data this module cannot use; the message says why."""


@dataclass(frozen=True, slots=True)
class MempoolTransaction:
    """The facts about one unconfirmed transaction that the detector needs."""

    txid: str
    value_sats: int
    largest_output_sats: int
    fee: int
    vsize: int
    input_count: int
    output_count: int
    rbf: bool
    first_seen: float | None
    effective_fee_rate: float | None = None  # CPFP-aware (the backend's effectiveFeePerVsize)


@dataclass(frozen=True, slots=True)
class FeeLevels:
    """The backend's recommended fee rates (sat/vB), highest first."""

    fastest: float
    half_hour: float
    hour: float
    economy: float
    minimum: float

    @classmethod
    def from_json(cls, data: object) -> FeeLevels:
        """Read `/api/v1/fees/recommended`."""
        if not isinstance(data, dict):
            raise MalformedData("fee levels are not an object")
        keys = ("fastestFee", "halfHourFee", "hourFee", "economyFee", "minimumFee")
        values = [_number(data.get(key), key, maximum=1e7) for key in keys]
        return cls(*values)


EXCHANGE = "exchange"  # a USD value at the mempool backend's exchange price
ONCHAIN = "onchain"  # at the oracle's own on-chain price, when the backend has none
USD_SOURCES = (EXCHANGE, ONCHAIN)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What makes a whale: at least `min_btc`, or (when set) at least `min_usd`."""

    min_btc: float
    min_usd: float | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """A detected whale, with everything a subscriber is told about it."""

    txid: str
    value_sats: int
    usd_value: float | None
    usd_source: str | None  # EXCHANGE or ONCHAIN with a usd_value
    fee: int
    vsize: int
    fee_rate: float
    effective_fee_rate: float | None
    rbf: bool
    urgency: float | None
    expected_confirmation: str | None
    input_count: int
    output_count: int
    largest_output_sats: int
    first_seen: datetime

    @property
    def btc_value(self) -> float:
        return self.value_sats / SATS_PER_BTC

    @property
    def largest_output_btc(self) -> float:
        return self.largest_output_sats / SATS_PER_BTC


@dataclass(slots=True)
class MempoolUpdate:
    """One `mempool-transactions` push; `added` and `replaced` hold raw transaction objects."""

    sequence: int | None
    added: list[Any]
    removed: list[str]
    mined: list[str]
    replaced: list[tuple[str, Any]]
    errors: list[str]


def decode_frame(text: str | bytes) -> dict[str, Any]:
    """A WebSocket frame as a JSON object."""
    try:
        frame = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedData(f"frame is not JSON ({type(exc).__name__})") from None
    if not isinstance(frame, dict):
        raise MalformedData(f"frame is a JSON {type(frame).__name__}, not an object")
    return frame


def mempool_update(frame: dict[str, Any]) -> MempoolUpdate | None:
    """The `mempool-transactions` part of a frame (None when the frame has none).

    Bad txids in `removed`/`mined`/`replaced` are skipped and reported in `errors`; a part
    that is not a list makes the whole update malformed.
    """
    body = frame.get("mempool-transactions")
    if body is None:
        return None
    if not isinstance(body, dict):
        raise MalformedData("mempool-transactions is not an object")
    sequence = body.get("sequence")
    if sequence is not None and (type(sequence) is not int or sequence < 0):
        raise MalformedData("sequence is not a non-negative integer")
    added = _list(body, "added")
    errors: list[str] = []
    removed = _txids(_list(body, "removed"), "removed", errors)
    mined = _txids(_list(body, "mined"), "mined", errors)
    replaced: list[tuple[str, Any]] = []
    for item in _list(body, "replaced"):
        if not isinstance(item, dict) or not _is_txid(item.get("replaced")):
            errors.append("replaced entry without a valid replaced txid")
            continue
        replaced.append((item["replaced"].lower(), item.get("by")))
    return MempoolUpdate(sequence, added, removed, mined, replaced, errors)


def parse_transaction(data: object) -> MempoolTransaction:
    """Validate a transaction object (as `/api/tx/:txid` or in `added`) and extract its facts."""
    if not isinstance(data, dict):
        raise MalformedData(f"transaction is a {type(data).__name__}, not an object")
    txid = data.get("txid")
    if not _is_txid(txid):
        raise MalformedData("txid is missing or not 64 hex digits")
    vin = data.get("vin")
    if not isinstance(vin, list) or not 0 < len(vin) <= MAX_IO_COUNT:
        raise MalformedData("vin is not a non-empty list")
    vout = data.get("vout")
    if not isinstance(vout, list) or not 0 < len(vout) <= MAX_IO_COUNT:
        raise MalformedData("vout is not a non-empty list")
    rbf = False
    for item in vin:
        sequence = item.get("sequence") if isinstance(item, dict) else None
        if type(sequence) is not int or not 0 <= sequence <= MAX_SEQUENCE:
            raise MalformedData("an input sequence is missing or not a 32-bit integer")
        if sequence < RBF_SEQUENCE_LIMIT:
            rbf = True
    total = largest = 0
    for item in vout:
        value = item.get("value") if isinstance(item, dict) else None
        if type(value) is not int or not 0 <= value <= MAX_MONEY_SATS:
            raise MalformedData("an output value is missing or not a satoshi amount")
        total += value
        largest = max(largest, value)
    if total > MAX_MONEY_SATS:
        raise MalformedData("outputs add up to more than 21 million BTC")
    fee = data.get("fee")
    if type(fee) is not int or not 0 <= fee <= MAX_MONEY_SATS:
        raise MalformedData("fee is missing or not a satoshi amount")
    return MempoolTransaction(
        txid=txid.lower(),
        value_sats=total,
        largest_output_sats=largest,
        fee=fee,
        vsize=_vsize(data),
        input_count=len(vin),
        output_count=len(vout),
        rbf=rbf,
        first_seen=_first_seen(data.get("firstSeen")),
        effective_fee_rate=_effective_fee_rate(data.get("effectiveFeePerVsize")),
    )


def is_whale(tx: MempoolTransaction, thresholds: Thresholds, usd_price: float | None) -> bool:
    """At least `min_btc` in outputs, or at least `min_usd` at the given price (when both set)."""
    if tx.value_sats >= thresholds.min_btc * SATS_PER_BTC:
        return True
    if thresholds.min_usd is None or usd_price is None:
        return False
    return tx.value_sats / SATS_PER_BTC * usd_price >= thresholds.min_usd


def urgency(fee_rate: float, fees: FeeLevels) -> float:
    """0..1: where the fee rate sits among the recommended levels (minimum 0 … fastest 1)."""
    levels = sorted((fees.minimum, fees.economy, fees.hour, fees.half_hour, fees.fastest))
    above = bisect.bisect_right(levels, fee_rate)  # how many levels the rate reaches
    if above == 0:
        return 0.0
    if above == len(levels):
        return 1.0
    low, high = levels[above - 1], levels[above]
    w_low, w_high = _URGENCY_WEIGHTS[above - 1], _URGENCY_WEIGHTS[above]
    return round(w_low + (fee_rate - low) / (high - low) * (w_high - w_low), 3)


def expected_confirmation(fee_rate: float, fees: FeeLevels) -> str:
    """`next_block`, `within_3`, `within_6` or `later`, from the recommended levels."""
    if fee_rate >= fees.fastest:
        return "next_block"
    if fee_rate >= fees.half_hour:
        return "within_3"
    if fee_rate >= fees.hour:
        return "within_6"
    return "later"


def describe(
    tx: MempoolTransaction,
    *,
    usd_price: float | None,
    fees: FeeLevels | None,
    seen_at: float,
    usd_source: str = EXCHANGE,
) -> Alert:
    """The alert for a whale; `seen_at` (unix seconds) stands in when the backend gave no firstSeen,
    `usd_source` says where `usd_price` comes from.

    Urgency and the expected confirmation follow the effective (CPFP-aware) fee rate when the
    backend gives one: a child paying for its parent speeds the parent up."""
    fee_rate = round(tx.fee / tx.vsize, 2)
    effective = None if tx.effective_fee_rate is None else round(tx.effective_fee_rate, 2)
    rate = fee_rate if effective is None else effective
    usd_value = None if usd_price is None else round(tx.value_sats / SATS_PER_BTC * usd_price, 2)
    return Alert(
        txid=tx.txid,
        value_sats=tx.value_sats,
        usd_value=usd_value,
        usd_source=None if usd_value is None else usd_source,
        fee=tx.fee,
        vsize=tx.vsize,
        fee_rate=fee_rate,
        effective_fee_rate=effective,
        rbf=tx.rbf,
        urgency=None if fees is None else urgency(rate, fees),
        expected_confirmation=None if fees is None else expected_confirmation(rate, fees),
        input_count=tx.input_count,
        output_count=tx.output_count,
        largest_output_sats=tx.largest_output_sats,
        first_seen=datetime.fromtimestamp(tx.first_seen or seen_at, UTC),
    )


def detect(
    tx: MempoolTransaction,
    thresholds: Thresholds,
    *,
    usd_price: float | None,
    fees: FeeLevels | None,
    seen_at: float,
    usd_source: str = EXCHANGE,
) -> Alert | None:
    """The alert when `tx` is a whale, else None."""
    if not is_whale(tx, thresholds, usd_price):
        return None
    return describe(tx, usd_price=usd_price, fees=fees, seen_at=seen_at, usd_source=usd_source)


def _is_txid(value: object) -> bool:
    return isinstance(value, str) and _TXID.match(value) is not None


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise MalformedData(f"{key} is not a list")
    return value


def _txids(values: list[Any], key: str, errors: list[str]) -> list[str]:
    good = [value.lower() for value in values if _is_txid(value)]
    if len(good) != len(values):
        errors.append(f"{len(values) - len(good)} invalid txid(s) in {key}")
    return good


def _number(value: object, name: str, *, maximum: float) -> float:
    if type(value) not in (int, float) or not 0 <= value <= maximum:  # type: ignore[operator]
        raise MalformedData(f"{name} is missing or not a number in 0..{maximum:g}")
    return float(value)  # type: ignore[arg-type]


def _vsize(data: dict[str, Any]) -> int:
    """Virtual size in vB: the backend's `vsize` (may be fractional), else ceil(weight / 4)."""
    vsize = data.get("vsize")
    if vsize is not None:
        size = _number(vsize, "vsize", maximum=MAX_VSIZE)
    else:
        weight = data.get("weight")
        if type(weight) is not int:
            raise MalformedData("vsize and weight are both missing or not numbers")
        size = _number(weight, "weight", maximum=4 * MAX_VSIZE) / 4
    if size <= 0:
        raise MalformedData("vsize is not positive")
    return math.ceil(size)


def _first_seen(value: object) -> float | None:
    """The backend's first-seen time when it is a plausible unix time, else None (optional field)."""
    if type(value) in (int, float) and EARLIEST_FIRST_SEEN <= value < 2**33:  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    return None


def _effective_fee_rate(value: object) -> float | None:
    """The backend's CPFP-aware fee rate when it is a plausible sat/vB figure (optional field)."""
    if type(value) in (int, float) and 0 < value <= MAX_FEE_RATE:  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    return None
