"""The UTXOracle v9.1 price algorithm (spec §3-§7), vectorised with NumPy and free of Django.

`OutputWindow` collects the outputs of blocks that arrive in order and applies the "same day" rule
over the whole window. `estimate_price` turns those outputs into the rough and the exact price. The
arithmetic reproduces the reference bit for bit: bin edges are computed with the same Python
expression; stencil sums and the total of the slide scores are accumulated left to right like the
reference's loops (`np.cumsum` adds sequentially, unlike the pairwise `np.sum`); the micro-round
values are built by the same repeated float additions; bins are found by the reference's rule
(largest edge <= value); every scalar step keeps the reference's operation order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from prices.utxoracle.parser import DEFAULT_FILTER, ParsedBlock, TxFilter

ALGORITHM = "utxoracle-9.1"

# §4 histogram: 200 bins per decade from 1e-6 to 1e6 BTC, plus a zero bin.
BIN_EDGES = np.array([0.0] + [10 ** (e + b / 200) for e in range(-6, 6) for b in range(200)])
FIRST_KEPT_BIN = 201
LAST_KEPT_BIN = 1600
ROUND_BTC_BINS = (201, 401, 461, 496, 540, 601, 661, 696, 740, 801, 861, 896, 940, 1001)
ROUND_BTC_BINS += (1061, 1096, 1140, 1201)
BIN_CAP = 0.008
MIN_BTC = 1e-5
MAX_BTC = 1e5

# §5 stencils.
STENCIL_SIZE = 803
SMOOTH_STENCIL = np.array(
    [
        0.0015 * 2.718281828459045 ** (-((x - 411) ** 2) / (2 * 201**2)) + 0.0000005 * x
        for x in range(803)
    ]
)
SPIKES = {
    40: 0.001300198324984352,
    141: 0.001676746949820743,
    201: 0.003468805546942046,
    202: 0.001991977522512513,
    236: 0.001905066647961839,
    261: 0.003341772718156079,
    262: 0.002588902624584287,
    296: 0.002577893841190244,
    297: 0.002733728814200412,
    340: 0.003076117748975647,
    341: 0.005613067550103145,
    342: 0.003088253178535568,
    400: 0.002918457489366139,
    401: 0.006174500465286022,
    402: 0.004417068070043504,
    403: 0.002628663628020371,
    436: 0.002858828161543839,
    461: 0.004097463611984264,
    462: 0.003345917406120509,
    496: 0.002521467726855856,
    497: 0.002784125730361008,
    541: 0.003792850444811335,
    601: 0.003688240815848247,
    602: 0.002392400117402263,
    636: 0.001280993059008106,
    661: 0.001654665137536031,
    662: 0.001395501347054946,
    741: 0.001154279140906312,
    801: 0.000832244504868709,
}
SPIKE_STENCIL = np.zeros(STENCIL_SIZE)
SPIKE_STENCIL[list(SPIKES)] = list(SPIKES.values())

# §6 rough price: slide the stencils so that 0.001 BTC (bin 601) means $100 at slide 0.
CENTER_BIN = 601
STENCIL_LEFT = CENTER_BIN - (STENCIL_SIZE + 1) // 2  # 199
MIN_SLIDE = -141
MAX_SLIDE = 201  # exclusive
SMOOTH_WEIGHT = 0.65
SMOOTH_UNTIL_SLIDE = 150
SLIDES = np.arange(MIN_SLIDE, MAX_SLIDE)

# §7 exact price.
USD_AMOUNTS = (5, 10, 15, 20, 25, 30, 40, 50, 100, 150, 200, 300, 500, 1000)
WIDE_WINDOW = 0.25
MICRO_TOLERANCE = 0.0001
TIGHT_WINDOW = 0.05
SPREAD_WINDOW = 0.1


def _micro_round_values() -> np.ndarray:
    """Round BTC amounts built by repeated float additions, as the reference builds them."""
    values: list[float] = []
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
    return np.array(values)


MICRO_ROUND = _micro_round_values()


def _micro_intervals_per_bin() -> tuple[np.ndarray, np.ndarray]:
    """For each histogram bin, the exclusion intervals (r - tol*r, r + tol*r) that reach into it,
    padded with empty ones: a value then only needs testing against its own bin's few intervals.
    """
    low = MICRO_ROUND - MICRO_TOLERANCE * MICRO_ROUND
    high = MICRO_ROUND + MICRO_TOLERANCE * MICRO_ROUND
    upper = np.append(BIN_EDGES[1:], np.inf)
    per_bin: list[list[tuple[float, float]]] = [[] for _ in BIN_EDGES]
    for lo, hi in zip(low.tolist(), high.tolist(), strict=True):
        first = int(np.searchsorted(upper, lo, side="right"))
        last = int(np.searchsorted(BIN_EDGES, hi, side="left"))
        for b in range(first, last):
            per_bin[b].append((lo, hi))
    width = max(len(intervals) for intervals in per_bin)
    lows = np.full((len(BIN_EDGES), width), np.inf)
    highs = np.full((len(BIN_EDGES), width), -np.inf)
    for b, intervals in enumerate(per_bin):
        for k, (lo, hi) in enumerate(intervals):
            lows[b, k], highs[b, k] = lo, hi
    return lows, highs


MICRO_LOWS, MICRO_HIGHS = _micro_intervals_per_bin()


class InsufficientData(ValueError):
    """The window holds too few usable outputs to find a price."""


PREFIX_BUCKET_SHIFT = np.uint64(64 - 22)  # 4 Mi buckets of a txid's first 8 bytes


def earlier_matches(txids: np.ndarray, spent: np.ndarray, spender: np.ndarray) -> np.ndarray:
    """For each spent txid, whether a transaction at or before position `spender` has that txid.

    `txids` holds one 32-byte row per transaction of the window, in order, and `spent` one row
    per spent txid (both C-contiguous). Only rows whose prefix bucket appears on both sides can
    match (usually a small share); those are sorted by their first 8 bytes so that each lookup is
    a fast search, and equal prefixes are then compared in full, candidate by candidate.
    """
    prefixes = txids.view(np.uint64)[:, 0]
    wanted = spent.view(np.uint64)[:, 0]
    buckets = prefixes >> PREFIX_BUCKET_SHIFT
    pending = np.flatnonzero(np.isin(wanted >> PREFIX_BUCKET_SHIFT, buckets, kind="table"))
    rows = np.isin(buckets, wanted[pending] >> PREFIX_BUCKET_SHIFT, kind="table")
    order = np.flatnonzero(rows)
    order = order[np.argsort(prefixes[order])]
    sorted_prefixes = prefixes[order]
    pending = pending[np.argsort(wanted[pending])]
    candidate = np.searchsorted(sorted_prefixes, wanted[pending])
    found = np.zeros(len(spent), dtype=bool)
    while len(pending):
        inside = candidate < len(order)
        pending, candidate = pending[inside], candidate[inside]
        same = sorted_prefixes[candidate] == wanted[pending]
        pending, candidate = pending[same], candidate[same]
        position = order[candidate]
        hit = (position <= spender[pending]) & (txids[position] == spent[pending]).all(axis=1)
        found[pending[hit]] = True
        pending, candidate = pending[~hit], candidate[~hit] + 1
    return found


class OutputWindow:
    """The outputs of a window of consecutive blocks that pass the §3 filters.

    Blocks must be added in height order. A kept transaction is dropped as "same day" when it
    spends a transaction at or before its own position in the window: the reference adds each
    txid to its set before checking that transaction's inputs. `add` only collects compact arrays
    (the txids, about 32 bytes per transaction, and the spends of kept transactions with outputs
    in range); `outputs` applies the rule once over the whole window.
    """

    def __init__(self, tx_filter: TxFilter = DEFAULT_FILTER) -> None:
        self.tx_filter = tx_filter
        self._tx_count = 0
        self._txids: list[bytes] = []
        self._spent: list[np.ndarray] = []
        self._spender: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._owner: list[np.ndarray] = []

    def add(self, block: ParsedBlock) -> None:
        """Add the next block of the window."""
        btc = block.values.astype(np.float64) / 1e8
        in_range = (btc > MIN_BTC) & (btc < MAX_BTC)
        self._values.append(btc[in_range])
        self._owner.append(self._tx_count + block.kept[block.value_of[in_range]])
        if self.tx_filter.drop_same_day:
            self._txids.append(block.txids)
            counted = np.zeros(len(block.kept), dtype=bool)
            counted[block.value_of[in_range]] = True
            spends = counted[block.spent_by]  # only transactions with an output in range matter
            self._spent.append(block.spent[spends])
            self._spender.append(self._tx_count + block.kept[block.spent_by[spends]])
        self._tx_count += block.tx_count

    def __len__(self) -> int:
        return len(self._values)

    def outputs(self) -> tuple[np.ndarray, np.ndarray]:
        """Values (BTC) of the outputs that enter the histogram, and each one's block position."""
        if not self._values:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        values = np.concatenate(self._values)
        block_index = np.repeat(np.arange(len(self._values)), [len(v) for v in self._values])
        if not self.tx_filter.drop_same_day:
            return values, block_index
        txids = np.frombuffer(b"".join(self._txids), dtype=np.uint8).reshape(-1, 32)
        spender = np.concatenate(self._spender)
        same_day = np.zeros(self._tx_count, dtype=bool)
        same_day[spender[earlier_matches(txids, np.concatenate(self._spent), spender)]] = True
        keep = ~same_day[np.concatenate(self._owner)]
        return values[keep], block_index[keep]


def bin_index(values: np.ndarray) -> np.ndarray:
    """For each value, the largest bin `i` with `BIN_EDGES[i] <= value` (what the reference's
    search finds): a guess from log10, then corrected against the edges themselves."""
    last = len(BIN_EDGES) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.floor((np.log10(values) + 6) * 200) + 1
    index = np.clip(np.nan_to_num(guess, nan=0.0), 0, last).astype(np.int64)
    while True:
        up = (index < last) & (BIN_EDGES[np.minimum(index + 1, last)] <= values)
        down = BIN_EDGES[index] > values
        if not (up.any() or down.any()):
            return index
        index += up.astype(np.int64) - down.astype(np.int64)


def histogram(bins: np.ndarray) -> np.ndarray:
    """Counts per bin, as floats."""
    return np.bincount(bins, minlength=len(BIN_EDGES)).astype(np.float64)


def normalised_histogram(counts: np.ndarray) -> np.ndarray:
    """Drop the tails, smooth the round-BTC bins, normalise bins 201-1600 and cap them (§4)."""
    h = counts.astype(np.float64)
    h[:FIRST_KEPT_BIN] = 0.0
    h[LAST_KEPT_BIN + 1 :] = 0.0
    for r in ROUND_BTC_BINS:
        h[r] = 0.5 * (h[r + 1] + h[r - 1])
    kept = h[FIRST_KEPT_BIN : LAST_KEPT_BIN + 1]
    # Counts and their halves are exact binary fractions: any summation order gives this sum.
    total = float(np.cumsum(kept)[-1])
    if total <= 0.0:
        raise InsufficientData("no outputs in the histogram range")
    h[FIRST_KEPT_BIN : LAST_KEPT_BIN + 1] = np.minimum(kept / total, BIN_CAP)
    return h


def _sequential_scores(h: np.ndarray, slides: np.ndarray, stencil: np.ndarray) -> np.ndarray:
    """For each slide, sum(h[199 + slide + n] * stencil[n]) accumulated in order n = 0..802."""
    index = STENCIL_LEFT + slides[:, None] + np.arange(STENCIL_SIZE)[None, :]
    return np.cumsum(h[index] * stencil[None, :], axis=1)[:, -1]


@dataclass(frozen=True, slots=True)
class RoughPrice:
    """The §6 result: the integer rough price and the best slide."""

    price: int
    best_slide: int


def slide_scores(h: np.ndarray) -> np.ndarray:
    """The score of every slide from -141 to 200: spike + 0.65 * smooth below slide 150."""
    spike = _sequential_scores(h, SLIDES, SPIKE_STENCIL)
    smooth = _sequential_scores(h, SLIDES, SMOOTH_STENCIL)
    return np.where(SLIDES < SMOOTH_UNTIL_SLIDE, spike + smooth * SMOOTH_WEIGHT, spike)


def _slide_price(slide: int) -> float:
    return 100 / float(BIN_EDGES[CENTER_BIN + slide])


def rough_price(h: np.ndarray) -> RoughPrice:
    """Weight the best slide's price with its better neighbour's (spike-only) price (§6)."""
    scores = slide_scores(h)
    best = int(np.argmax(scores))  # first maximum, as "first strictly greater" scanning gives
    best_score = float(scores[best])
    if best_score <= 0.0:
        raise InsufficientData("no outputs under the stencils")
    best_slide = int(SLIDES[best])
    total = float(np.cumsum(scores)[-1])
    up, down = (
        float(s)
        for s in _sequential_scores(h, np.array([best_slide + 1, best_slide - 1]), SPIKE_STENCIL)
    )
    neighbour, neighbour_score = (best_slide - 1, down) if down > up else (best_slide + 1, up)
    avg = total / len(SLIDES)
    a1 = best_score - avg
    a2 = abs(neighbour_score - avg)
    w1 = a1 / (a1 + a2)
    w2 = a2 / (a1 + a2)
    price = int(w1 * _slide_price(best_slide) + w2 * _slide_price(neighbour))
    return RoughPrice(price, best_slide)


def micro_round_mask(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """True where a value lies strictly within ±0.01 % of a micro round BTC amount."""
    inside = np.zeros(len(values), dtype=bool)
    for k in range(MICRO_LOWS.shape[1]):
        rows = np.flatnonzero(MICRO_LOWS[bins, k] < np.inf)
        hit = (MICRO_LOWS[bins[rows], k] < values[rows]) & (
            values[rows] < MICRO_HIGHS[bins[rows], k]
        )
        inside[rows[hit]] = True
    return inside


def price_points(values: np.ndarray, bins: np.ndarray, rough: int) -> tuple[np.ndarray, np.ndarray]:
    """The §7 price points `usd / value` and, for each, the index of its output.

    Outputs are grouped by histogram bin (a linear-time sort) so that each USD amount only looks
    at the bins its ±25 % window covers.
    """
    order = np.argsort(bins.astype(np.uint16), kind="stable")
    sorted_values = values[order]
    sorted_bins = bins[order]
    starts = np.concatenate(([0], np.cumsum(np.bincount(bins, minlength=len(BIN_EDGES)))))
    points: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for usd in USD_AMOUNTS:
        expected = usd / rough
        low = expected - WIDE_WINDOW * expected
        high = expected + WIDE_WINDOW * expected
        first, last = bin_index(np.array([low, high])).tolist()
        segment = slice(starts[first], starts[last + 1])
        chosen = sorted_values[segment]
        inside = (chosen > low) & (chosen < high)
        inside &= ~micro_round_mask(chosen, sorted_bins[segment])
        points.append(usd / chosen[inside])
        owners.append(order[segment][inside])
    return np.concatenate(points), np.concatenate(owners)


def central_output(points: np.ndarray, low: float, high: float) -> tuple[float, float, int]:
    """The point strictly inside (low, high) with the least total distance to the others
    (first minimum), the median absolute deviation around it, and the number of points."""
    inside = np.sort(points[(points > low) & (points < high)])
    n = len(inside)
    if n == 0:
        raise InsufficientData(f"no price points between {low:.2f} and {high:.2f}")
    prefix = np.cumsum(inside)
    total = prefix[-1]
    left_counts = np.arange(n, dtype=np.float64)
    right_counts = (n - 1) - left_counts
    left_sums = np.concatenate(([0.0], prefix[:-1]))
    right_sums = total - prefix
    distances = (inside * left_counts - left_sums) + (right_sums - inside * right_counts)
    best = float(inside[int(np.argmin(distances))])
    middle = (n // 2 - 1, n // 2) if n % 2 == 0 else (n // 2,)
    deviations = np.partition(np.abs(inside - best), middle)  # the median needs no full sort
    if n % 2 == 0:
        mad = float((deviations[n // 2 - 1] + deviations[n // 2]) / 2)
    else:
        mad = float(deviations[n // 2])
    return best, mad, n


@dataclass(frozen=True, slots=True)
class PriceEstimate:
    """The algorithm's output for one window of outputs.

    `block_medians[i]` / `block_points[i]` describe the price points of the window's i-th block
    that fall inside the final window (rough ± 5 %). `points` are every §7 price point, in
    output order, and `point_blocks` the window position of each one's block: what the price cloud
    is drawn from.
    """

    price: float
    rough_price: int
    output_count: int
    price_point_count: int
    deviation: float
    block_medians: list[float | None]
    block_points: list[int]
    points: np.ndarray = field(repr=False, compare=False)
    point_blocks: np.ndarray = field(repr=False, compare=False)


def estimate_price(values: np.ndarray, block_index: np.ndarray, block_count: int) -> PriceEstimate:
    """Run §4-§7 on the window's output values (BTC) and return the price and its spread."""
    bins = bin_index(values)
    rough = rough_price(normalised_histogram(histogram(bins))).price
    points, owners = price_points(values, bins, rough)
    low = rough - TIGHT_WINDOW * rough
    high = rough + TIGHT_WINDOW * rough
    price, _, count = central_output(points, low, high)
    spread_low = price - SPREAD_WINDOW * price
    spread_high = price + SPREAD_WINDOW * price
    _, mad, _ = central_output(points, spread_low, spread_high)
    deviation = mad / (spread_high - spread_low)
    medians, per_block = _block_detail(points, owners, low, high, block_index, block_count)
    in_output_order = np.argsort(owners, kind="stable")
    return PriceEstimate(
        price,
        rough,
        len(values),
        count,
        deviation,
        medians,
        per_block,
        points[in_output_order],
        block_index[owners[in_output_order]],
    )


def _block_detail(
    points: np.ndarray,
    owners: np.ndarray,
    low: float,
    high: float,
    block_index: np.ndarray,
    block_count: int,
) -> tuple[list[float | None], list[int]]:
    """Median and count of each block's price points inside (low, high)."""
    inside = (points > low) & (points < high)
    blocks = block_index[owners[inside]]
    chosen = points[inside]
    counts = np.bincount(blocks, minlength=block_count)
    grouped = chosen[np.argsort(blocks, kind="stable")]
    medians: list[float | None] = []
    start = 0
    for count in counts.tolist():
        medians.append(float(np.median(grouped[start : start + count])) if count else None)
        start += count
    return medians, counts.tolist()


def confidence(deviation: float, price_point_count: int) -> float:
    """A 0..1 score: tight clustering of the price points times enough of them.

    Spread factor: 1 - deviation / 0.25, clipped to 0..1 (0.25 is what points spread evenly over
    the ±10 % window give, i.e. no cluster at all). Volume factor: price points / 1000, capped at 1.
    """
    spread = min(1.0, max(0.0, 1.0 - deviation / 0.25))
    volume = min(1.0, price_point_count / 1000)
    return spread * volume
