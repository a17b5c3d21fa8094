"""The UTXOracle v9.1 arithmetic: hand-checked vectors, and the vectorised steps against the spec's
own loops (written out plainly below, in the spec's order of operations)."""

from __future__ import annotations

import math
from hashlib import sha256

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prices.utxoracle.algorithm import (
    BIN_CAP,
    BIN_EDGES,
    MICRO_ROUND,
    SMOOTH_STENCIL,
    SPIKE_STENCIL,
    USD_AMOUNTS,
    InsufficientData,
    OutputWindow,
    bin_index,
    central_output,
    confidence,
    earlier_matches,
    estimate_price,
    histogram,
    micro_round_mask,
    normalised_histogram,
    price_points,
    rough_price,
    slide_scores,
)
from prices.utxoracle.parser import TxFilter, parse_block
from simulators.chain import TxIn, assemble_block, serialize_tx

# --- the spec's loops, as plainly as it states them -----------------------------------------


def spec_bin(value: float) -> int:
    """§4 as the reference searches: a log10 guess, then step up while the edge is <= value."""
    guess = int((math.log10(value) + 6) / 12 * len(BIN_EDGES))
    while BIN_EDGES[guess] <= value:
        guess += 1
    return guess - 1


def spec_micro_values() -> list[float]:
    values = []
    for start, step, limit in (
        (0.00005, 0.00001, 0.0001),
        (0.0001, 0.00001, 0.001),
        (0.001, 0.0001, 0.01),
        (0.01, 0.001, 0.1),
        (0.1, 0.01, 1),
    ):
        value = start
        while value < limit:
            values.append(value)
            value += step
    return values


SPEC_MICRO = spec_micro_values()


def spec_is_micro(n: float) -> bool:
    return any(r - 0.0001 * r < n < r + 0.0001 * r for r in SPEC_MICRO)


def spec_score(h: list[float], slide: int, stencil: list[float]) -> float:
    score = 0.0
    for n in range(803):
        score += h[199 + slide + n] * stencil[n]
    return score


def spec_rough(h: list[float]) -> int:
    """§6 as written: first strictly greater score, neighbour by spike only, weighted prices."""
    spike, smooth = SPIKE_STENCIL.tolist(), SMOOTH_STENCIL.tolist()
    best, best_score, total = 0, 0.0, 0.0
    for slide in range(-141, 201):
        score = spec_score(h, slide, spike)
        if slide < 150:
            score = score + spec_score(h, slide, smooth) * 0.65
        if score > best_score:
            best, best_score = slide, score
        total += score
    up, down = spec_score(h, best + 1, spike), spec_score(h, best - 1, spike)
    neighbour, neighbour_score = (best + 1, up) if not down > up else (best - 1, down)
    avg = total / 342
    a1, a2 = best_score - avg, abs(neighbour_score - avg)
    w1, w2 = a1 / (a1 + a2), a2 / (a1 + a2)
    return int(w1 * (100 / BIN_EDGES[601 + best]) + w2 * (100 / BIN_EDGES[601 + neighbour]))


def spec_points(values: list[float], rough: int) -> list[float]:
    points = []
    for n in values:
        for usd in USD_AMOUNTS:
            avbtc = usd / rough
            if avbtc - 0.25 * avbtc < n < avbtc + 0.25 * avbtc and not spec_is_micro(n):
                points.append(usd / n)
    return points


# --- constants --------------------------------------------------------------------------------


def test_bin_edges_are_the_python_expression_not_a_vectorised_one() -> None:
    expected = [0.0] + [10 ** (e + b / 200) for e in range(-6, 6) for b in range(200)]
    assert BIN_EDGES.tolist() == expected
    assert BIN_EDGES[601] == 0.001 and len(BIN_EDGES) == 2401


def test_smooth_stencil_uses_the_power_form() -> None:
    power = [
        0.0015 * 2.718281828459045 ** (-((x - 411) ** 2) / 80802) + 5e-7 * x for x in range(803)
    ]
    exp = [0.0015 * math.exp(-((x - 411) ** 2) / 80802) + 5e-7 * x for x in range(803)]
    assert SMOOTH_STENCIL.tolist() == power
    assert power != exp
    assert SMOOTH_STENCIL[411] == 0.0015 + 0.0000005 * 411


def test_spike_stencil_has_the_29_spikes() -> None:
    assert np.count_nonzero(SPIKE_STENCIL) == 29
    assert SPIKE_STENCIL[401] == 0.006174500465286022
    assert SPIKE_STENCIL[801] == 0.000832244504868709
    assert SPIKE_STENCIL[0] == SPIKE_STENCIL[802] == 0.0


def test_micro_round_values_are_the_accumulated_floats() -> None:
    assert MICRO_ROUND.tolist() == SPEC_MICRO
    assert len(SPEC_MICRO) == 366
    assert 0.009999999999999995 in SPEC_MICRO and 0.01 in SPEC_MICRO  # overlapping neighbours


# --- histogram --------------------------------------------------------------------------------


EDGE_VALUES = [float(BIN_EDGES[i]) for i in range(201, 2400, 7)]
TRICKY = (
    EDGE_VALUES
    + [np.nextafter(v, 0) for v in EDGE_VALUES]
    + [np.nextafter(v, 1e9) for v in EDGE_VALUES]
)


def test_bins_match_the_reference_search_at_every_kind_of_edge() -> None:
    values = np.array([v for v in TRICKY if 1e-5 < v < 1e5])
    assert bin_index(values).tolist() == [spec_bin(v) for v in values.tolist()]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=1.0000001e-5, max_value=99_999.99), min_size=1, max_size=50))
def test_bins_match_the_reference_search(values: list[float]) -> None:
    assert bin_index(np.array(values)).tolist() == [spec_bin(v) for v in values]


def test_bin_index_of_zero_and_huge_values() -> None:
    assert bin_index(np.array([0.0, 1e9])).tolist() == [0, 2400]


def test_normalised_histogram_by_hand() -> None:
    counts = np.zeros(2401)
    counts[201:1601] = 1.0
    counts[300] = 20.0
    counts[100] = 5.0  # below 1,000 sats: dropped
    counts[1700] = 3.0  # at or above 100 BTC: dropped
    h = normalised_histogram(counts)
    # Bin 201 becomes (h[200] + h[202]) / 2 = 0.5 since bin 200 was zeroed; others stay 1.
    total = 1398 * 1.0 + 0.5 + 20.0  # 1,400 kept bins: 1,398 ones, bin 201 and bin 300
    assert h[100] == h[1700] == h[200] == h[1601] == 0.0
    assert h[201] == 0.5 / total
    assert h[500] == 1.0 / total
    assert h[300] == BIN_CAP  # 20 / 1418.5 > 0.008: capped, not renormalised
    assert h.sum() == pytest.approx((1398 + 0.5) / total + BIN_CAP, rel=1e-12)


def test_round_btc_bins_take_their_neighbours_mean() -> None:
    counts = np.zeros(2401)
    counts[400], counts[401], counts[402] = 100.0, 5000.0, 300.0  # bin 401 is 10k sats
    counts[1000:1100] = 1000.0
    h = normalised_histogram(counts)
    total = 100 * 1000.0 + 100 + 200 + 300
    assert h[401] == 200.0 / total and h[400] == 100.0 / total and h[402] == 300.0 / total


def test_histogram_of_nothing_is_refused() -> None:
    with pytest.raises(InsufficientData):
        normalised_histogram(histogram(bin_index(np.array([150.0, 500.0]))))  # >= 100 BTC


# --- stencils and rough price -------------------------------------------------------------------


def random_histogram(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = np.concatenate(
        (10 ** rng.normal(-2.5, 1.0, 30_000), rng.choice([10, 20, 50, 100], 4_000) / 71_234.0)
    )
    values = values[(values > 1e-5) & (values < 1e5)]
    return normalised_histogram(histogram(bin_index(values)))


def test_slide_scores_equal_the_sequential_sums() -> None:
    h = random_histogram(1)
    scores = slide_scores(h)
    hl, spike, smooth = h.tolist(), SPIKE_STENCIL.tolist(), SMOOTH_STENCIL.tolist()
    for i, slide in enumerate(range(-141, 201, 17)):
        expected = spec_score(hl, slide, spike)
        if slide < 150:
            expected = expected + spec_score(hl, slide, smooth) * 0.65
        assert scores[(slide + 141)] == expected, (i, slide)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rough_price_equals_the_spec(seed: int) -> None:
    h = random_histogram(seed)
    assert rough_price(h).price == spec_rough(h.tolist())


def test_rough_price_weighting_by_hand() -> None:
    """One output bin (601, i.e. 0.001 BTC): the spike's tallest entry (401) fits at slide 1."""
    h = np.zeros(2401)
    h[601] = BIN_CAP
    rough = rough_price(h)
    assert rough.best_slide == 1
    spike, smooth = SPIKE_STENCIL.tolist(), SMOOTH_STENCIL.tolist()
    scores = []
    for slide in range(-141, 201):
        n = 601 - 199 - slide  # the stencil entry that lands on bin 601
        score = spike[n] * BIN_CAP
        if slide < 150:
            score = score + smooth[n] * BIN_CAP * 0.65
        scores.append(score)
    best = scores[1 + 141]
    assert best == max(scores)
    avg = sum(scores) / 342
    up, down = spike[400] * BIN_CAP, spike[402] * BIN_CAP  # slide 2 and slide 0
    assert down > up  # so the neighbour is slide 0, priced 100 / edges[601]
    a1, a2 = best - avg, abs(down - avg)
    best_price, neighbour_price = 100 / BIN_EDGES[602], 100 / BIN_EDGES[601]
    expected = int(a1 / (a1 + a2) * best_price + a2 / (a1 + a2) * neighbour_price)
    assert rough.price == expected
    assert best_price < rough.price < neighbour_price


def test_a_histogram_outside_the_stencils_is_refused() -> None:
    h = np.zeros(2401)
    h[1300] = BIN_CAP  # ~3 BTC: no slide reaches it
    with pytest.raises(InsufficientData):
        rough_price(h)


# --- exact price ----------------------------------------------------------------------------------


def test_micro_round_mask_matches_the_spec_near_every_round_value() -> None:
    near = []
    for r in SPEC_MICRO:
        near += [r, r * (1 + 0.99e-4), r * (1 - 0.99e-4), r * (1 + 1.01e-4), r * (1 - 1.01e-4)]
        near += [r - 0.0001 * r, r + 0.0001 * r]  # the open interval's own ends
    values = np.array([v for v in near if v > 1e-5])
    expected = [spec_is_micro(v) for v in values.tolist()]
    assert micro_round_mask(values, bin_index(values)).tolist() == expected
    assert any(expected) and not all(expected)


def test_price_points_equal_the_spec_loop() -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate(
        (
            10 ** rng.uniform(-5, 0, 3_000),
            np.array(SPEC_MICRO[::5]),
            rng.choice([50, 100], 300) / 60_000,
        )
    )
    points, owners = price_points(values, bin_index(values), 60_000)
    assert sorted(points.tolist()) == sorted(spec_points(values.tolist(), 60_000))
    assert set(np.round(points * values[owners]).astype(int).tolist()) <= set(USD_AMOUNTS)


@pytest.mark.parametrize(
    ("points", "center", "mad"),
    [
        ([10.0, 1.0, 3.0, 2.0], 2.0, 1.0),  # distances 12, 10, 10, 24: first minimum; even count
        ([1.0, 2.0, 3.0], 2.0, 1.0),  # odd count
        ([3.0, 1.0], 1.0, 1.0),  # a tie between two: the smaller (first after sorting)
        ([5.0], 5.0, 0.0),
    ],
)
def test_central_output_and_mad_by_hand(points: list[float], center: float, mad: float) -> None:
    assert central_output(np.array(points), 0.0, 100.0) == (center, mad, len(points))


def test_central_output_window_is_open() -> None:
    assert central_output(np.array([1.0, 2.0, 3.0, 4.0]), 1.0, 4.0) == (2.0, 0.5, 2)
    with pytest.raises(InsufficientData):
        central_output(np.array([1.0, 4.0]), 1.0, 4.0)


def test_estimate_price_of_nothing_is_refused() -> None:
    with pytest.raises(InsufficientData):
        estimate_price(np.zeros(0), np.zeros(0, dtype=np.int64), 0)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0, max_value=10), st.integers(min_value=0, max_value=10**7))
def test_confidence_stays_within_zero_and_one(deviation: float, count: int) -> None:
    value = confidence(deviation, count)
    assert 0.0 <= value <= 1.0
    assert confidence(deviation / 2, count) >= value


def test_confidence_by_hand() -> None:
    assert confidence(0.0, 5_000) == 1.0
    assert confidence(0.125, 500) == 0.25
    assert confidence(0.3, 5_000) == 0.0


# --- the window and its "same day" rule ---------------------------------------------------------------

SCRIPT = b"\x00\x14" + bytes(20)


def spend(txid: bytes, *values: int) -> tuple[bytes, bytes]:
    return serialize_tx(
        [TxIn(txid, 0, b"", (b"sig", b"key"))], [(v, SCRIPT) for v in values], segwit=True
    )


def outside(n: int) -> bytes:
    return sha256(b"outside" + bytes([n])).digest()


def block_of(*txs: tuple[bytes, bytes]) -> bytes:
    return assemble_block([raw for raw, _ in txs], [txid for _, txid in txs], time=1_735_700_000)


def test_same_day_rule_by_hand() -> None:
    a = spend(outside(1), 1_000_000, 2_000_000)  # kept
    b = spend(a[1], 1_100_000, 2_100_000)  # spends a, earlier in the block: dropped
    c = spend(outside(2), 1_200_000, 2_200_000)  # kept
    later = spend(outside(3), 1_300_000, 2_300_000)
    d = spend(c[1], 1_400_000, 2_400_000)  # next block, spends c of the first block: dropped
    e = spend(later[1], 1_500_000, 2_500_000)  # spends a tx placed after it: not yet seen, kept
    first = parse_block(block_of(a, b, c))
    second = parse_block(block_of(d, e, later))
    window = OutputWindow()
    window.add(first)
    window.add(second)
    values, blocks = window.outputs()
    assert sorted((values * 1e8).round().astype(int).tolist()) == [
        1_000_000,
        1_200_000,
        1_300_000,
        1_500_000,
        2_000_000,
        2_200_000,
        2_300_000,
        2_500_000,
    ]
    assert blocks.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    everything = OutputWindow(TxFilter(drop_same_day=False))
    everything.add(first)
    everything.add(second)
    assert len(everything.outputs()[0]) == 12


def test_the_window_keeps_only_values_strictly_inside_the_range() -> None:
    tx = serialize_tx(
        [TxIn(outside(9), 0, b"\x00")],
        [(1_000, SCRIPT), (1_001, SCRIPT)],
        segwit=False,
    )
    big = serialize_tx(
        [TxIn(outside(10), 0, b"\x00")],
        [(10**13, SCRIPT), (10**13 - 1, SCRIPT)],
        segwit=False,
    )
    window = OutputWindow()
    window.add(parse_block(block_of(tx, big)))
    assert (window.outputs()[0] * 1e8).round().astype(int).tolist() == [1_001, 10**13 - 1]
    assert len(window) == 1


def test_an_empty_window_has_no_outputs() -> None:
    values, blocks = OutputWindow().outputs()
    assert len(values) == len(blocks) == 0


def test_same_day_lookup_survives_many_blocks_and_equal_prefixes() -> None:
    """Txids that share their first 8 bytes are told apart by the full comparison."""
    window = OutputWindow()
    spent_later = None
    for n in range(40):
        tx = spend(outside(100 + n), 3_000_000 + n, 4_000_000)
        if n == 5:
            spent_later = tx[1]
        window.add(parse_block(block_of(tx)))
    assert spent_later is not None
    twin = spent_later[:8] + bytes(24)  # same 8-byte prefix, different txid
    window.add(
        parse_block(
            block_of(spend(twin, 5_000_000, 6_000_000), spend(spent_later, 7_000_000, 8_000_000))
        )
    )
    values = (window.outputs()[0] * 1e8).round().astype(int).tolist()
    assert 5_000_000 in values and 7_000_000 not in values


def spec_earlier_matches(txids: list[bytes], spent: list[bytes], spender: list[int]) -> list[bool]:
    """The reference's set, filled transaction by transaction before their inputs are checked."""
    return [s in set(txids[: position + 1]) for s, position in zip(spent, spender, strict=True)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=30),
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 29)), max_size=30),
)
def test_earlier_matches_equal_the_reference_set(tx_names: list[int], spends) -> None:
    """Few distinct txids, sharing prefixes and repeating, so that every path is taken."""

    def txid(name: int) -> bytes:
        return bytes(8) + bytes([name % 2]) * 8 + sha256(bytes([name])).digest()[:16]

    txids = [txid(n) for n in tx_names]
    spent = [txid(n) for n, _ in spends]
    spender = [min(p, len(txids) - 1) for _, p in spends]
    found = earlier_matches(
        np.frombuffer(b"".join(txids), dtype=np.uint8).reshape(-1, 32),
        np.frombuffer(b"".join(spent), dtype=np.uint8).reshape(-1, 32),
        np.array(spender, dtype=np.int64),
    )
    assert found.tolist() == spec_earlier_matches(txids, spent, spender)
