"""Parse raw Bitcoin blocks (legacy and segwit) into what the oracle's transaction filters need.

The parser walks the serialized block once. For every transaction it computes the txid (double
SHA-256 of the serialization without marker, flag and witness) and the facts the UTXOracle filters
look at: input and output counts, coinbase, OP_RETURN, witness size. Transactions that pass the
per-transaction rules of a `TxFilter` are returned with their spent txids and output values; the
"same day" rule needs the whole window and is applied by `prices.utxoracle.algorithm.OutputWindow`.

Malformed input raises `BlockParseError` with the byte offset: every read is bounds-checked, every
loop is bounded by the buffer length, and the merkle root in the header must match the txids.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

HEADER_SIZE = 80
COINBASE_PREVOUT = b"\x00" * 32 + b"\xff\xff\xff\xff"
OP_RETURN = 0x6A
MIN_TX_SIZE = 10  # version, input count, output count, locktime
MIN_INPUT_SIZE = 41  # prevout (36), script length (1), sequence (4)
MIN_OUTPUT_SIZE = 9  # value (8), script length (1)


class BlockParseError(ValueError):
    """The bytes are not a well-formed block; `offset` is where parsing stopped."""

    def __init__(self, offset: int, reason: str) -> None:
        self.offset = offset
        self.reason = reason
        super().__init__(f"malformed block at byte {offset}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[int, str]]:
        return type(self), (self.offset, self.reason)


@dataclass(frozen=True, slots=True)
class TxFilter:
    """The per-transaction rules of UTXOracle v9.1 (spec §3); `None`/`False` turns a rule off."""

    max_inputs: int | None = 5
    exact_outputs: int | None = 2
    drop_coinbase: bool = True
    drop_op_return: bool = True
    max_witness_bytes: int | None = 500
    drop_same_day: bool = True


DEFAULT_FILTER = TxFilter()


@dataclass(frozen=True, slots=True)
class ParsedBlock:
    """One parsed block, in compact arrays.

    `txids` holds every transaction's txid (32 bytes each, internal byte order, as inputs spend
    them) in block order. `kept` gives the block position of each transaction that passed the
    per-transaction rules; `spent` (one 32-byte row per input) and `values` (satoshis, one per
    output) belong to the kept transaction at position `spent_by` / `value_of` of `kept`.
    """

    time: int
    txids: bytes
    kept: np.ndarray
    spent: np.ndarray
    spent_by: np.ndarray
    values: np.ndarray
    value_of: np.ndarray

    @property
    def tx_count(self) -> int:
        return len(self.txids) // 32


def block_hash(raw: bytes) -> str:
    """The block hash as hex (double SHA-256 of the 80-byte header, byte-reversed)."""
    if len(raw) < HEADER_SIZE:
        raise BlockParseError(len(raw), "shorter than a block header")
    return sha256(sha256(raw[:HEADER_SIZE]).digest()).digest()[::-1].hex()


def header_time(header: bytes) -> int:
    """The `time` field of an 80-byte header (bytes 68-71, little-endian)."""
    if len(header) < HEADER_SIZE:
        raise BlockParseError(len(header), "shorter than a block header")
    return int.from_bytes(header[68:72], "little")


def merkle_root(txids: bytes) -> bytes:
    """The merkle root of concatenated 32-byte txids, duplicating the last of an odd level."""
    level = txids
    while len(level) > 32:
        if len(level) % 64:
            level += level[-32:]
        view = memoryview(level)
        level = b"".join(
            [sha256(sha256(view[i : i + 64]).digest()).digest() for i in range(0, len(level), 64)]
        )
    return bytes(level)


def _varint(b: bytes, p: int) -> tuple[int, int]:
    """A CompactSize integer at `p` and the offset after it; non-canonical forms are refused."""
    first = b[p]
    if first < 0xFD:
        return first, p + 1
    size = 2 if first == 0xFD else 4 if first == 0xFE else 8
    end = p + 1 + size
    if end > len(b):
        raise BlockParseError(p, "truncated integer")
    value = int.from_bytes(b[p + 1 : end], "little")
    if value < (0xFD if size == 2 else 0x10000 if size == 4 else 0x100000000):
        raise BlockParseError(p, "non-canonical integer")
    return value, end


def _count(b: bytes, p: int, unit: int, what: str) -> tuple[int, int]:
    """A CompactSize count at `p` that the remaining bytes can hold (at least `unit` each)."""
    count, after = _varint(b, p)
    if count * unit > len(b) - after:
        raise BlockParseError(p, f"{what} count {count} exceeds the remaining bytes")
    return count, after


def parse_block(raw: bytes, tx_filter: TxFilter = DEFAULT_FILTER) -> ParsedBlock:
    """Parse a raw block; raise `BlockParseError` on any malformation."""
    b = bytes(raw)
    n = len(b)
    if n < HEADER_SIZE + 1:
        raise BlockParseError(n, "shorter than a block header and transaction count")
    try:
        tx_count, p = _count(b, HEADER_SIZE, MIN_TX_SIZE, "transaction")
        if tx_count == 0:
            raise BlockParseError(HEADER_SIZE, "block has no transactions")
        walk = _Walk(b, tx_filter)
        end = walk.run(p, tx_count)
    except IndexError:
        raise BlockParseError(n, "truncated block") from None
    if end != n:
        raise BlockParseError(end, f"{n - end} unexpected bytes after the last transaction")
    txids = b"".join(walk.txids)
    if merkle_root(txids) != b[36:68]:
        raise BlockParseError(36, "merkle root does not match the transactions")
    data = np.frombuffer(b, dtype=np.uint8)
    kept = np.array(walk.kept, dtype=np.int64).reshape(-1, 5)
    spent_at, spent_by = _item_offsets(b, data, kept[:, 1], kept[:, 2], 36, 4)
    value_at, value_of = _item_offsets(b, data, kept[:, 3], kept[:, 4], 8, 0)
    return ParsedBlock(
        time=int.from_bytes(b[68:72], "little"),
        txids=txids,
        kept=kept[:, 0].copy(),
        spent=sliding_window_view(data, 32)[spent_at],  # the 32 bytes at each offset
        spent_by=spent_by,
        values=sliding_window_view(data, 8)[value_at].view("<u8").ravel(),
        value_of=value_of,
    )


def _item_offsets(
    b: bytes, data: np.ndarray, starts: np.ndarray, counts: np.ndarray, head: int, tail: int
) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of the inputs (or outputs) of already validated transactions, and the row each
    belongs to. An item is `head` bytes, a CompactSize script length, the script, `tail` bytes."""
    rows = np.arange(len(starts))
    at = starts.copy()
    offsets = [np.zeros(0, dtype=np.int64)]
    owners = [np.zeros(0, dtype=np.int64)]
    for item in range(int(counts.max(initial=0))):
        live = rows[counts > item]
        here = at[live]
        offsets.append(here)
        owners.append(live)
        length = data[here + head].astype(np.int64)
        step = head + 1 + length + tail
        for i in np.flatnonzero(length >= 0xFD).tolist():  # long scripts: rare
            size, after = _varint(b, int(here[i]) + head)
            step[i] = after - int(here[i]) + size + tail
        at[live] = here + step
    return np.concatenate(offsets), np.concatenate(owners)


class _Walk:
    """One pass over a block's transactions: every txid, and for each kept transaction five
    numbers in a row of `kept` (index, inputs offset, input count, outputs offset, output count).

    Consensus allows the coinbase's null prevout only in a block's first transaction, so that one
    alone is looked at for it.
    """

    def __init__(self, b: bytes, tx_filter: TxFilter) -> None:
        self.b = b
        self.filter = tx_filter
        self.txids: list[bytes] = []
        self.kept: list[int] = []

    def run(self, p: int, tx_count: int) -> int:
        """Walk `tx_count` transactions from offset `p` (the hot loop, kept flat on purpose);
        return the offset after the last one."""
        b = self.b
        n = len(b)
        f = self.filter
        max_in = n if f.max_inputs is None else f.max_inputs
        exact_out = f.exact_outputs
        max_wit = n if f.max_witness_bytes is None else f.max_witness_bytes
        drop_cb = f.drop_coinbase
        drop_opr = f.drop_op_return
        view = memoryview(b)
        append_txid = self.txids.append
        keep = self.kept.extend
        for tx_index in range(tx_count):
            start = p
            segwit = b[p + 4] == 0 and b[p + 5] == 1
            p += 6 if segwit else 4
            # inputs
            n_in = b[p]
            if n_in < 0xFD:
                p += 1
            else:
                n_in, p = _count(b, p, MIN_INPUT_SIZE, "input")
            inputs_at = p
            coinbase = tx_index == 0 and n_in > 0 and b[p : p + 36] == COINBASE_PREVOUT
            for _ in range(n_in):
                sl = b[p + 36]
                if sl < 0xFD:
                    p += 41 + sl  # prevout 36, length 1, script, sequence 4
                else:
                    sl, q = _varint(b, p + 36)
                    p = q + sl + 4
            # outputs
            n_out = b[p]
            if n_out < 0xFD:
                p += 1
            else:
                n_out, p = _count(b, p, MIN_OUTPUT_SIZE, "output")
            outputs_at = p
            op_return = False
            for _ in range(n_out):
                sl = b[p + 8]
                if sl < 0xFD:
                    if sl and b[p + 9] == OP_RETURN:
                        op_return = True
                    p += 9 + sl  # value 8, length 1, script
                else:
                    sl, q = _varint(b, p + 8)
                    if b[q] == OP_RETURN:
                        op_return = True
                    p = q + sl
            outputs_end = p
            # witness: the largest per-input total of item lengths
            witness = 0
            if segwit:
                for _ in range(n_in):
                    items = b[p]
                    if items < 0xFD:
                        p += 1
                    else:
                        items, p = _count(b, p, 1, "witness item")
                    total = 0
                    for _ in range(items):
                        il = b[p]
                        if il < 0xFD:
                            p += 1 + il
                        else:
                            il, p = _varint(b, p)
                            p += il
                        total += il
                    if total > witness:
                        witness = total
            p += 4
            if p > n:
                raise BlockParseError(n, "truncated transaction")
            if segwit:  # the txid leaves out the marker, the flag and the witness
                stripped = b[start : start + 4] + b[start + 6 : outputs_end] + b[p - 4 : p]
                append_txid(sha256(sha256(stripped).digest()).digest())
            else:
                append_txid(sha256(sha256(view[start:p]).digest()).digest())
            if (
                n_in <= max_in
                and (exact_out is None or n_out == exact_out)
                and not (drop_cb and coinbase)
                and not (drop_opr and op_return)
                and witness <= max_wit
            ):
                keep((tx_index, inputs_at, n_in, outputs_at, n_out))
        return p
