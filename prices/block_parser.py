"""Parse raw Bitcoin blocks (legacy and segwit) into what the oracle's transaction filters need.

The parser walks the serialized block once. For every transaction it computes the txid (double
SHA-256 of the serialization without marker, flag and witness) and the facts the UTXOracle filters
look at: input and output counts, coinbase, OP_RETURN, witness size. Transactions that pass the
per-transaction rules of a `TxFilter` are returned with their spent txids and output values; the
"same day" rule needs the whole window and is applied by `prices.algorithm.OutputWindow`.

Malformed input raises `BlockParseError` with the byte offset: every read is bounds-checked, every
loop is bounded by the buffer length, and the merkle root in the header must match the txids.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256

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
    """One parsed block.

    `txids` lists every transaction's txid in block order (internal byte order, as spent by
    inputs). `kept` lists, for each transaction that passed the per-transaction rules, a tuple
    `(tx_index, spent_txids, output_values_sats)`.
    """

    time: int
    txids: list[bytes]
    kept: list[tuple[int, tuple[bytes, ...], tuple[int, ...]]]


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


def merkle_root(txids: list[bytes]) -> bytes:
    """The merkle root of txids (internal byte order), duplicating the last of an odd level."""
    level = txids
    while len(level) > 1:
        if len(level) % 2:
            level = [*level, level[-1]]
        level = [
            sha256(sha256(level[i] + level[i + 1]).digest()).digest()
            for i in range(0, len(level), 2)
        ]
    return level[0]


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


def _check_count(count: int, p: int, n: int, unit: int, what: str) -> None:
    if count * unit > n - p:
        raise BlockParseError(p, f"{what} count {count} exceeds the remaining bytes")


def parse_block(raw: bytes, tx_filter: TxFilter = DEFAULT_FILTER) -> ParsedBlock:
    """Parse a raw block; raise `BlockParseError` on any malformation."""
    b = bytes(raw)
    n = len(b)
    if n < HEADER_SIZE + 1:
        raise BlockParseError(n, "shorter than a block header and transaction count")
    p = HEADER_SIZE
    try:
        tx_count, p = _varint(b, p)
        _check_count(tx_count, p, n, MIN_TX_SIZE, "transaction")
        if tx_count == 0:
            raise BlockParseError(HEADER_SIZE, "block has no transactions")
        txids, kept = _parse_transactions(b, p, tx_count, tx_filter)
    except IndexError:
        raise BlockParseError(n, "truncated block") from None
    if merkle_root(txids) != b[36:68]:
        raise BlockParseError(36, "merkle root does not match the transactions")
    return ParsedBlock(int.from_bytes(b[68:72], "little"), txids, kept)


def _parse_transactions(
    b: bytes, p: int, tx_count: int, f: TxFilter
) -> tuple[list[bytes], list[tuple[int, tuple[bytes, ...], tuple[int, ...]]]]:
    """Walk `tx_count` transactions from offset `p` (hot loop: kept flat on purpose)."""
    n = len(b)
    max_in = f.max_inputs
    exact_out = f.exact_outputs
    max_wit = f.max_witness_bytes
    drop_cb = f.drop_coinbase
    drop_opr = f.drop_op_return
    txids: list[bytes] = []
    kept: list[tuple[int, tuple[bytes, ...], tuple[int, ...]]] = []
    append_txid = txids.append
    append_kept = kept.append
    for tx_index in range(tx_count):
        start = p
        segwit = b[p + 4] == 0 and b[p + 5] == 1
        p += 6 if segwit else 4
        # inputs
        n_in = b[p]
        if n_in < 0xFD:
            p += 1
        else:
            n_in, p = _varint(b, p)
            _check_count(n_in, p, n, MIN_INPUT_SIZE, "input")
        inputs_at = p
        coinbase = False
        for _ in range(n_in):
            q = p + 36
            sl = b[q]
            if sl < 0xFD:
                q += 1
            else:
                sl, q = _varint(b, q)
            if b[p + 35] == 0xFF and b[p : p + 36] == COINBASE_PREVOUT:
                coinbase = True
            p = q + sl + 4
        # outputs
        n_out = b[p]
        if n_out < 0xFD:
            p += 1
        else:
            n_out, p = _varint(b, p)
            _check_count(n_out, p, n, MIN_OUTPUT_SIZE, "output")
        outputs_at = p
        op_return = False
        for _ in range(n_out):
            q = p + 8
            sl = b[q]
            if sl < 0xFD:
                q += 1
            else:
                sl, q = _varint(b, q)
            if sl and b[q] == OP_RETURN:
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
                    items, p = _varint(b, p)
                    _check_count(items, p, n, 1, "witness item")
                total = 0
                for _ in range(items):
                    il = b[p]
                    if il < 0xFD:
                        p += 1
                    else:
                        il, p = _varint(b, p)
                    total += il
                    p += il
                if total > witness:
                    witness = total
        p += 4
        if p > n:
            raise BlockParseError(n, "truncated locktime")
        if segwit:
            stripped = b[start : start + 4] + b[start + 6 : outputs_end] + b[p - 4 : p]
            txid = sha256(sha256(stripped).digest()).digest()
        else:
            txid = sha256(sha256(b[start:p]).digest()).digest()
        append_txid(txid)
        if (
            (max_in is None or n_in <= max_in)
            and (exact_out is None or n_out == exact_out)
            and not (drop_cb and coinbase)
            and not (drop_opr and op_return)
            and (max_wit is None or witness <= max_wit)
        ):
            if n_in == 1:
                spent: tuple[bytes, ...] = (b[inputs_at : inputs_at + 32],)
            else:
                spent = _spent_txids(b, inputs_at, n_in)
            second = outputs_at + 9 + b[outputs_at + 8]
            if n_out == 2 and b[outputs_at + 8] < 0xFD:
                values: tuple[int, ...] = (
                    int.from_bytes(b[outputs_at : outputs_at + 8], "little"),
                    int.from_bytes(b[second : second + 8], "little"),
                )
            else:
                values = _values(b, outputs_at, n_out)
            append_kept((tx_index, spent, values))
    if p != n:
        raise BlockParseError(p, f"{n - p} unexpected bytes after the last transaction")
    return txids, kept


def _spent_txids(b: bytes, p: int, count: int) -> tuple[bytes, ...]:
    """The previous txids of `count` inputs starting at `p` (already validated)."""
    spent = []
    for _ in range(count):
        spent.append(b[p : p + 32])
        sl, q = _varint(b, p + 36)
        p = q + sl + 4
    return tuple(spent)


def _values(b: bytes, p: int, count: int) -> tuple[int, ...]:
    """The satoshi values of `count` outputs starting at `p` (already validated)."""
    values = []
    for _ in range(count):
        values.append(int.from_bytes(b[p : p + 8], "little"))
        sl, q = _varint(b, p + 8)
        p = q + sl
    return tuple(values)
