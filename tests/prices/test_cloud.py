"""The price cloud's histogram: the reference chart's y range, points placed in time, bins, and a
stored size that stays under 200 KB whatever the counts."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from prices.utxoracle.cloud import (
    PRICE_BINS,
    TIME_BINS,
    CloudDecodeError,
    PriceCloud,
    chart_span,
    point_times,
    price_cloud,
)


@pytest.mark.parametrize(
    ("deviation", "span"),
    [(0.0, 0.05), (0.11, 0.05), (0.17, 0.05), (0.185, 0.1), (0.2, 0.15), (0.215, 0.2), (0.3, 0.2)],
)
def test_the_y_range_grows_with_the_deviation_as_the_reference_chart_does(
    deviation: float, span: float
) -> None:
    assert chart_span(deviation) == pytest.approx(span)


def test_a_blocks_points_are_spread_over_the_time_since_the_block_before() -> None:
    # three blocks at 600, 1200 and 1000 (stamped before its predecessor); the window starts at 100
    times = point_times(np.array([0, 0, 1, 1, 1, 1, 2]), np.array([600, 1200, 1000]), 100)
    assert times.tolist() == [225.0, 475.0, 675.0, 825.0, 975.0, 1125.0, 1000.0]


def test_points_are_binned_by_time_and_price() -> None:
    price = 100_000.0
    points = np.array([95_001.0, 99_999.9, 100_000.0, 104_999.0, 94_999.0, 105_001.0])
    blocks = np.zeros(len(points), dtype=np.int64)
    cloud = price_cloud(points, blocks, np.array([1_000]), price, 0.1, 0, 360)
    assert (cloud.price_low, cloud.price_high) == (95_000.0, 105_000.0)
    assert cloud.point_count == 4  # the two outside ± 5 % are not drawn
    rows = np.flatnonzero(cloud.counts.sum(axis=0)).tolist()
    assert rows == [0, 99, 100, 199]
    columns = np.flatnonzero(cloud.counts.sum(axis=1)).tolist()
    assert columns == [1, 2]  # the points spread over 400..1000 s: bins of 360 s


def test_points_outside_the_time_span_are_left_out() -> None:
    points = np.full(2, 100_000.0)
    times = np.array([500, 86_400 + 600, 86_400 + 900])  # the last two are the next day's
    cloud = price_cloud(points, np.array([0, 2]), times, 100_000.0, 0, 0, 360)
    assert cloud.point_count == 1


def test_the_stored_bytes_stay_under_200_kb_and_decode_back() -> None:
    noise = np.random.default_rng(1).integers(0, 2**32, (TIME_BINS, PRICE_BINS), dtype=np.uint32)
    cloud = PriceCloud(0, 360, 1.0, 2.0, noise)
    stored = cloud.to_bytes()
    assert len(stored) <= 200 * 1024
    assert (PriceCloud.counts_from_bytes(stored) == noise).all()


@pytest.mark.parametrize("data", [b"not zlib", zlib.compress(b"\0" * 100)])
def test_bytes_that_are_not_a_cloud_are_refused(data: bytes) -> None:
    with pytest.raises(CloudDecodeError):
        PriceCloud.counts_from_bytes(data)
