"""Golden vectors: the numbers the reference program printed for simulated chains.

How they were obtained: UTXOracle.py v9.1 (repository Unbesteveable/UTXOracle, commit b9a3d91,
file sha256 9b6d33f9…6a02c5), unmodified, run with `-p DIR -d 2025/01/01` (date mode) or `-rb`
(recent mode) against `python -m simulators.chain` on 127.0.0.1, its `bitcoin.conf`
pointing `rpcconnect/rpcport/rpccookiefile` at the simulator. Its internal variables were read after
the run (`block_nums_needed`, `len(raw_outputs)`, `rough_price_estimate`, `central_price`, `dev_pct`,
and the count of `output_prices` strictly inside rough ± 5 %). Simulator arguments per vector below.

The price cloud holds exactly the points the reference's chart draws: its HTML page lists them
(`const prices = [...]`), and their number is the cloud's total (CLOUD_POINTS); per block they were
found equal too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from prices.utxoracle.engine import (
    OracleResult,
    compute_day_price,
    compute_day_prices,
    compute_recent_price,
)
from simulators.chain import ChainParams, SimulatedChain, SimulatorServer
from tests.prices.helpers import rpc_source

JAN_1 = 1_735_689_600
FIELDS = (
    "block_first",
    "block_last",
    "block_count",
    "output_count",
    "rough_price",
    "price",
    "price_rounded",
    "price_point_count",
    "deviation",
)


def golden(*values: float) -> dict[str, float]:
    """The reference's numbers, in the order of FIELDS."""
    return dict(zip(FIELDS, values, strict=True))


# `--txs-per-block 100` (seed 1, $63,000, one day from 2025-01-01), `-d 2025/01/01`.
GOLDEN_DAY = golden(
    870012, 870155, 144, 19977, 62791, 62962.77640658842, 62962, 6205, 0.11723072707275678
)
# Same chain, `-rb`.
GOLDEN_RECENT = golden(
    870023, 870166, 144, 20014, 62790, 62967.137450964336, 62967, 6172, 0.11926657294125916
)
# `--txs-per-block 80 --seed 7 --price 41000 --decoy-price 42500`, `-d 2025/01/01`.
GOLDEN_DECOY = golden(
    870012, 870155, 144, 16143, 40958, 40992.84674824243, 40992, 5045, 0.11881614311155474
)
# `--txs-per-block 40 --days 3 --disorder 0 --time-override 870156=<Jan 2 00:00 - 100 s>
#  --time-override 870298=<Jan 3 00:00 + 600 s>`, `-d 2025/01/01`, `/02`, `/03`.
MIDNIGHT_OVERRIDES = {870156: JAN_1 + 86_400 - 100, 870298: JAN_1 + 2 * 86_400 + 600}
GOLDEN_MIDNIGHT = {
    date(2025, 1, 1): golden(
        870012, 870156, 145, 8104, 62793, 62975.86135234364, 62975, 2535, 0.11761593423837577
    ),
    date(2025, 1, 2): golden(
        870157, 870297, 141, 7951, 62795, 62976.25795075257, 62976, 2493, 0.10318331478650215
    ),
    date(2025, 1, 3): golden(
        870300, 870443, 144, 8100, 62796, 62993.316409128995, 62993, 2505, 0.11547696961713089
    ),
}

# The length of `prices` in the page the reference wrote for GOLDEN_DAY, GOLDEN_RECENT, GOLDEN_DECOY.
CLOUD_POINTS = {"day": 6194, "recent": 6166, "decoy": 5048}


def numbers(result: OracleResult) -> dict[str, float]:
    data = result.to_dict()
    return {field: data[field] for field in FIELDS}


def test_day_equals_the_reference(golden_server: SimulatorServer) -> None:
    result = compute_day_price(date(2025, 1, 1), rpc_source(golden_server), workers=1)
    assert numbers(result) == GOLDEN_DAY
    assert result.cloud is not None and result.cloud.point_count == CLOUD_POINTS["day"]


def test_recent_blocks_equal_the_reference(golden_server: SimulatorServer) -> None:
    result = compute_recent_price(144, rpc_source(golden_server), workers=1)
    assert numbers(result) == GOLDEN_RECENT
    assert result.cloud is not None and result.cloud.point_count == CLOUD_POINTS["recent"]


def test_decoy_day_equals_the_reference(serve: Callable[..., SimulatorServer]) -> None:
    chain = SimulatedChain(ChainParams(txs_per_block=80, seed=7, price=41_000, decoy_price=42_500))
    result = compute_day_price(date(2025, 1, 1), rpc_source(serve(chain)), workers=1)
    assert numbers(result) == GOLDEN_DECOY
    assert result.cloud is not None and result.cloud.point_count == CLOUD_POINTS["decoy"]


@pytest.fixture(scope="module")
def midnight_server(serve: Callable[..., SimulatorServer]) -> SimulatorServer:
    params = ChainParams(txs_per_block=40, days=3, disorder=0.0, time_overrides=MIDNIGHT_OVERRIDES)
    return serve(SimulatedChain(params))


@pytest.mark.parametrize("day", sorted(GOLDEN_MIDNIGHT))
def test_days_around_out_of_order_midnights_equal_the_reference(
    midnight_server: SimulatorServer, day: date
) -> None:
    result = compute_day_price(day, rpc_source(midnight_server), workers=1)
    assert numbers(result) == GOLDEN_MIDNIGHT[day]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_pipelined_run_of_the_three_days_equals_the_reference(
    midnight_server: SimulatorServer, workers: int
) -> None:
    days = sorted(GOLDEN_MIDNIGHT)
    results = list(compute_day_prices(days, rpc_source(midnight_server), workers=workers))
    assert [day for day, _ in results] == days
    for day, result in results:
        assert isinstance(result, OracleResult)
        assert numbers(result) == GOLDEN_MIDNIGHT[day]
