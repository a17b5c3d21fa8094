"""The raw block parser: hand-built blocks with every case the filters look at, and fuzzing."""

from __future__ import annotations

from hashlib import sha256

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prices.utxoracle.parser import (
    DEFAULT_FILTER,
    BlockParseError,
    TxFilter,
    block_hash,
    header_time,
    merkle_root,
    parse_block,
)
from simulators.chain import (
    ChainParams,
    SimulatedChain,
    TxIn,
    assemble_block,
    encode_varint,
    serialize_tx,
)

P2WPKH = b"\x00\x14" + bytes(range(20))
SIG = bytes(72)
KEY = b"\x02" + bytes(32)


def prev(n: int) -> bytes:
    return sha256(n.to_bytes(4, "little")).digest()


def segwit_in(n: int, *witness: bytes) -> TxIn:
    return TxIn(prev(n), 0, b"", witness or (SIG, KEY))


def legacy_in(n: int, script: bytes = b"\x48" + SIG + b"\x21" + KEY) -> TxIn:
    return TxIn(prev(n), 1, script)


def pay(*values: int) -> list[tuple[int, bytes]]:
    return [(value, P2WPKH) for value in values]


# (name, transaction, kept by the default filter)
CASES = [
    (
        "coinbase",
        serialize_tx([TxIn(bytes(32), 0xFFFFFFFF, b"\x03abc")], pay(1, 2), segwit=False),
        False,
    ),
    ("legacy 1-in 2-out", serialize_tx([legacy_in(1)], pay(50_000, 7_000), segwit=False), True),
    (
        "segwit 2-in 2-out",
        serialize_tx([segwit_in(2), segwit_in(3)], pay(10, 20), segwit=True),
        True,
    ),
    (
        "five inputs",
        serialize_tx([segwit_in(n) for n in range(10, 15)], pay(3, 4), segwit=True),
        True,
    ),
    (
        "six inputs",
        serialize_tx([segwit_in(n) for n in range(20, 26)], pay(5, 6), segwit=True),
        False,
    ),
    ("one output", serialize_tx([segwit_in(30)], pay(7), segwit=True), False),
    ("three outputs", serialize_tx([segwit_in(31)], pay(8, 9, 10), segwit=True), False),
    (
        "OP_RETURN",
        serialize_tx([segwit_in(32)], [(11, P2WPKH), (0, b"\x6a\x01x")], segwit=True),
        False,
    ),
    ("empty script", serialize_tx([segwit_in(33)], [(12, b""), (13, P2WPKH)], segwit=True), True),
    (
        "witness item 501",
        serialize_tx([segwit_in(34, bytes(501))], pay(14, 15), segwit=True),
        False,
    ),
    ("witness item 500", serialize_tx([segwit_in(35, bytes(500))], pay(16, 17), segwit=True), True),
    (
        "witness 250+251",
        serialize_tx([segwit_in(36, bytes(250), bytes(251))], pay(18, 19), segwit=True),
        False,
    ),
    (
        "witness 250+250 per input",
        serialize_tx(
            [segwit_in(37, bytes(250), bytes(250)), segwit_in(38, bytes(250), bytes(250))],
            pay(20, 21),
            segwit=True,
        ),
        True,
    ),
    ("long scriptSig", serialize_tx([legacy_in(39, bytes(300))], pay(22, 23), segwit=False), True),
    (
        "long output script",
        serialize_tx([legacy_in(40)], [(24, bytes(300)), (25, P2WPKH)], segwit=False),
        True,
    ),
    (
        "long OP_RETURN",
        serialize_tx([legacy_in(41)], [(26, b"\x6a" + bytes(299)), (27, P2WPKH)], segwit=False),
        False,
    ),
]


def handmade_block(cases: list = CASES) -> bytes:
    return assemble_block(
        [raw for _, (raw, _), _ in cases], [txid for _, (_, txid), _ in cases], time=1_735_689_700
    )


def test_txids_and_kept_transactions_of_a_handmade_block() -> None:
    parsed = parse_block(handmade_block())
    assert parsed.txids == b"".join(txid for _, (_, txid), _ in CASES)
    assert parsed.tx_count == len(CASES)
    assert parsed.time == 1_735_689_700
    kept = [name for name, _, keep in CASES if keep]
    assert [CASES[i][0] for i in parsed.kept.tolist()] == kept


def test_spent_txids_and_values_of_kept_transactions() -> None:
    parsed = parse_block(handmade_block())
    by_tx = {i: ([], []) for i in range(len(parsed.kept))}
    for row, owner in zip(parsed.spent, parsed.spent_by.tolist(), strict=True):
        by_tx[owner][0].append(bytes(row))
    for value, owner in zip(parsed.values.tolist(), parsed.value_of.tolist(), strict=True):
        by_tx[owner][1].append(value)
    five = next(i for i, tx in enumerate(parsed.kept.tolist()) if CASES[tx][0] == "five inputs")
    assert by_tx[five] == ([prev(n) for n in range(10, 15)], [3, 4])
    long_out = next(
        i for i, tx in enumerate(parsed.kept.tolist()) if CASES[tx][0] == "long output script"
    )
    assert by_tx[long_out] == ([prev(40)], [24, 25])
    long_sig = next(
        i for i, tx in enumerate(parsed.kept.tolist()) if CASES[tx][0] == "long scriptSig"
    )
    assert by_tx[long_sig] == ([prev(39)], [22, 23])


def test_a_filter_with_every_rule_off_keeps_every_transaction() -> None:
    everything = TxFilter(None, None, False, False, None)
    parsed = parse_block(handmade_block(), everything)
    assert parsed.kept.tolist() == list(range(len(CASES)))
    assert len(parsed.values) == 32  # 14 two-output transactions, one of 1 and one of 3


def test_a_segwit_txid_ignores_the_witness() -> None:
    inputs_a = [segwit_in(50, b"one")]
    inputs_b = [segwit_in(50, b"another witness")]
    (raw_a, txid_a), (raw_b, txid_b) = (
        serialize_tx(inputs_a, pay(1, 2), segwit=True),
        serialize_tx(inputs_b, pay(1, 2), segwit=True),
    )
    assert raw_a != raw_b and txid_a == txid_b
    block = assemble_block([raw_a], [txid_a], time=1)
    assert parse_block(block).txids == txid_a


def test_simulated_blocks_parse_and_match_their_merkle_roots() -> None:
    chain = SimulatedChain(ChainParams(txs_per_block=60))
    for height in (chain.params.base_height, chain.params.base_height + 100):
        raw = chain.block(height)
        parsed = parse_block(raw)
        assert parsed.tx_count == 60
        assert merkle_root(parsed.txids) == raw[36:68]
        assert block_hash(raw) == chain.block_hash(height)
        assert header_time(raw[:80]) == chain.block_time(height) == parsed.time


@pytest.mark.parametrize(
    ("mutate", "offset", "reason"),
    [
        (lambda raw: raw[:60], 60, "shorter than a block header"),
        (lambda raw: raw[:80] + b"\x00", 80, "no transactions"),
        (lambda raw: raw[:80] + b"\xfd\x05\x00" + raw[81:], 80, "non-canonical"),
        (
            lambda raw: raw[:80] + b"\xff" + bytes(7) + b"\x01" + raw[81:],
            80,
            "exceeds the remaining",
        ),
        (lambda raw: raw + b"\x00\x00", None, "unexpected bytes after the last transaction"),
        (lambda raw: raw[:40] + bytes(4) + raw[44:], 36, "merkle root"),
        (lambda raw: raw[:-3], None, "truncated"),
    ],
)
def test_malformed_blocks_raise_with_the_offset(mutate, offset, reason) -> None:
    raw = handmade_block()
    with pytest.raises(BlockParseError) as caught:
        parse_block(mutate(raw))
    assert reason in str(caught.value)
    assert f"at byte {caught.value.offset}" in str(caught.value)
    if offset is not None:
        assert caught.value.offset == offset


@pytest.mark.parametrize(
    "tx",
    [
        # input count as a 4-byte integer: far more inputs than bytes left
        b"\x02\x00\x00\x00" + b"\xfe" + (10**6).to_bytes(4, "little") + bytes(20),
        # output count as an 8-byte integer (after version and one input without script)
        serialize_tx([segwit_in(1)], pay(1, 2), segwit=False)[0][:46]
        + b"\xff"
        + (2**40).to_bytes(8, "little")
        + bytes(20),
        # witness stack count as a 4-byte integer
        b"\x02\x00\x00\x00\x00\x01\x01"
        + bytes(36)
        + b"\x00"
        + bytes(4)
        + b"\x01"
        + bytes(8)
        + b"\x00"
        + b"\xfe"
        + (10**6).to_bytes(4, "little")
        + bytes(8),
    ],
)
def test_huge_counts_are_refused_at_once(tx: bytes) -> None:
    block = assemble_block([tx], [sha256(tx).digest()], time=1)
    with pytest.raises(BlockParseError):
        parse_block(block)


def test_header_helpers_refuse_short_input() -> None:
    with pytest.raises(BlockParseError):
        block_hash(b"\x00" * 79)
    with pytest.raises(BlockParseError):
        header_time(b"\x00" * 10)


def test_parse_errors_survive_pickling() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(BlockParseError(12, "truncated block")))
    assert (error.offset, error.reason) == (12, "truncated block")


VALID = handmade_block()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_error(data: bytes) -> None:
    try:
        parse_block(data, DEFAULT_FILTER)
    except BlockParseError as exc:
        assert 0 <= exc.offset <= len(data)


@FUZZ
@given(st.binary(max_size=2_000))
def test_random_bytes_raise_a_parse_error_or_parse(data: bytes) -> None:
    _parse_or_error(data)


@FUZZ
@given(st.binary(min_size=81, max_size=600))
def test_random_transactions_after_a_header(tail: bytes) -> None:
    _parse_or_error(VALID[:80] + tail)


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID) - 1))
def test_every_truncation_of_a_valid_block_is_an_error(cut: int) -> None:
    with pytest.raises(BlockParseError):
        parse_block(VALID[:cut])


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID) * 8 - 1))
def test_a_bit_flip_is_caught_unless_it_leaves_every_txid_intact(bit: int) -> None:
    damaged = bytearray(VALID)
    damaged[bit // 8] ^= 1 << (bit % 8)
    try:
        parsed = parse_block(bytes(damaged))
    except BlockParseError:
        return
    # Only header fields outside the merkle root, or witness bytes, can change unnoticed.
    assert parsed.txids == parse_block(VALID).txids


def test_varint_encoding_round_trip_through_the_parser() -> None:
    for count in (1, 0xFC, 0xFD, 0x1234):
        assert encode_varint(count)[0] == (count if count < 0xFD else 0xFD)
    big = [serialize_tx([legacy_in(n)], pay(n + 1, n + 2), segwit=False) for n in range(0xFD)]
    block = assemble_block([raw for raw, _ in big], [txid for _, txid in big], time=5)
    assert parse_block(block).tx_count == 0xFD
