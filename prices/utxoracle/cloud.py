"""The day's price cloud: every output's implied price against its block's time, kept as a compact
2-D histogram.

UTXOracle's chart draws each price point `usd / value` of the final pass (§7) that lies strictly
within its y axis range as a dot, spread evenly along the x axis in output order. The range is the
final price ± a span that grows with the day's deviation, from 5 % (deviation 0.17 or less) to 20 %
(0.215 or more): `chart_span`. We keep the same points, placed in time: a block's points are spread evenly, in output order, over the time since
the block before it (its transactions were made then; the first block of a window takes the ten
minutes before it, from the window's start at the earliest), so the cloud is continuous rather than a stripe per block. They are binned in
TIME_BINS columns across the window's time span (for a day, midnight to midnight: 6 minutes each)
and PRICE_BINS rows across price ± 10 % (0.1 % of the price each), counts as 32-bit integers.
Stored zlib-compressed,
a cloud is at most TIME_BINS * PRICE_BINS * 4 = 192,000 bytes plus zlib's few bytes of framing
(under 200 KB whatever the day), usually a few kilobytes.

Free of Django, like the rest of the engine.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

TIME_BINS = 240
PRICE_BINS = 200
MIN_SPAN, MAX_SPAN = 0.05, 0.2  # the reference chart's y range around the final price
FIRST_BLOCK_SECONDS = 600  # the time a window's first block is taken to span
_DTYPE = np.dtype("<u4")


class CloudDecodeError(ValueError):
    """Stored cloud bytes that do not decode to a histogram of the expected shape."""


@dataclass(frozen=True, eq=False)
class PriceCloud:
    """Counts of price points per (time bin, price bin); row 0 starts at `start` (unix seconds),
    column 0 at `price_low`."""

    start: int
    seconds_per_bin: int
    price_low: float
    price_high: float
    counts: np.ndarray  # shape (TIME_BINS, PRICE_BINS), uint32

    @property
    def point_count(self) -> int:
        return int(self.counts.sum())

    @property
    def price_step(self) -> float:
        return (self.price_high - self.price_low) / self.counts.shape[1]

    def to_bytes(self) -> bytes:
        """The counts as zlib-compressed little-endian uint32, row by row."""
        return zlib.compress(self.counts.astype(_DTYPE).tobytes(), 6)

    @staticmethod
    def counts_from_bytes(data: bytes) -> np.ndarray:
        """The counts stored by `to_bytes`; raises CloudDecodeError."""
        try:
            raw = zlib.decompress(data)
        except zlib.error as exc:
            raise CloudDecodeError(f"not zlib data: {exc}") from None
        if len(raw) != TIME_BINS * PRICE_BINS * _DTYPE.itemsize:
            raise CloudDecodeError(f"{len(raw)} bytes, not a {TIME_BINS} x {PRICE_BINS} histogram")
        return np.frombuffer(raw, dtype=_DTYPE).reshape(TIME_BINS, PRICE_BINS)


def seconds_per_bin(first: int, last: int) -> int:
    """The bin width that spreads [first, last] over TIME_BINS columns (whole seconds, at least 1)."""
    return max(1, -(-(last - first + 1) // TIME_BINS))


def chart_span(deviation: float) -> float:
    """The reference chart's y range around the price, as a fraction of it, for a deviation."""
    span = 0.05 + (deviation - 0.17) * ((0.15 - 0.05) / (0.2 - 0.17))
    return min(MAX_SPAN, max(MIN_SPAN, span))


def point_times(point_blocks: np.ndarray, block_times: np.ndarray, start: int) -> np.ndarray:
    """Each point's time: its block's points (`point_blocks` is the block position of each point,
    in output order, so non-decreasing) spread evenly over the time since the previous block, or
    since `start` when that is later."""
    ends = block_times.astype(np.float64)
    begins = np.concatenate(([ends[0] - FIRST_BLOCK_SECONDS], ends[:-1]))
    # a block stamped before its predecessor (or before the start) keeps its points at its time
    begins = np.minimum(np.maximum(begins, start), ends)
    per_block = np.bincount(point_blocks, minlength=len(ends))
    first = np.concatenate(([0], np.cumsum(per_block)[:-1]))
    rank = np.arange(len(point_blocks)) - first[point_blocks]
    share = (rank + 0.5) / np.maximum(per_block[point_blocks], 1)
    return begins[point_blocks] + share * (ends - begins)[point_blocks]


def price_cloud(
    points: np.ndarray,
    point_blocks: np.ndarray,
    block_times: np.ndarray,
    price: float,
    deviation: float,
    start: int,
    bin_seconds: int,
) -> PriceCloud:
    """Bin the price points the reference chart shows (strictly inside the price ± its
    `chart_span`) by their time (see `point_times`); points outside the TIME_BINS columns from
    `start` are left out."""
    span = chart_span(deviation)
    low = price - span * price
    high = price + span * price
    column = np.floor((point_times(point_blocks, block_times, start) - start) / bin_seconds)
    inside = (points > low) & (points < high) & (column >= 0) & (column < TIME_BINS)
    row = np.floor((points[inside] - low) / (high - low) * PRICE_BINS).astype(np.int64)
    cells = column[inside].astype(np.int64) * PRICE_BINS + np.clip(row, 0, PRICE_BINS - 1)
    counts = np.bincount(cells, minlength=TIME_BINS * PRICE_BINS).astype(np.uint32)
    return PriceCloud(start, bin_seconds, low, high, counts.reshape(TIME_BINS, PRICE_BINS))
