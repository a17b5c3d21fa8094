"""The engine end to end over the loopback simulator: planted prices, filters against decoys,
both sources, block selection around midnight, refusals and failures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from prices.utxoracle.algorithm import ALGORITHM, InsufficientData
from prices.utxoracle.engine import (
    RESULT_KEYS,
    DateNotServable,
    OracleResult,
    compute_day_price,
    compute_day_prices,
    compute_recent_price,
    select_day_blocks,
)
from prices.utxoracle.parser import DEFAULT_FILTER
from prices.utxoracle.sources import BlockSourceError, FallbackSource
from simulators.chain import ChainParams, Faults, SimulatedChain, SimulatorServer
from tests.prices.helpers import esplora_source, esplora_source_at, rpc_at, rpc_source
from tests.support import free_port

DAY = date(2025, 1, 1)
JAN_1 = 1_735_689_600


@pytest.mark.parametrize("price", [20_000.0, 35_000.0, 87_000.0, 150_000.0])
def test_the_planted_price_is_recovered(
    serve: Callable[..., SimulatorServer], price: float
) -> None:
    chain = SimulatedChain(ChainParams(txs_per_block=70, price=price, seed=int(price)))
    result = compute_day_price(DAY, rpc_source(serve(chain)), workers=1)
    assert result.price == pytest.approx(chain.day_price(DAY), rel=0.002)
    assert result.rough_price == pytest.approx(price, rel=0.02)


@pytest.fixture(scope="module")
def decoy_server(serve: Callable[..., SimulatorServer]) -> SimulatorServer:
    params = ChainParams(txs_per_block=80, price=60_000, decoy_price=61_800, seed=11)
    return serve(SimulatedChain(params))


@pytest.fixture(scope="module")
def filtered_price(decoy_server: SimulatorServer) -> float:
    return compute_day_price(DAY, rpc_source(decoy_server), workers=1).price


def test_with_every_filter_the_decoy_is_ignored(filtered_price: float) -> None:
    assert filtered_price == pytest.approx(60_000, rel=0.002)


@pytest.mark.parametrize(
    "rule",
    [
        {"max_inputs": None},
        {"exact_outputs": None},
        {"drop_coinbase": False},
        {"drop_op_return": False},
        {"max_witness_bytes": None},
        {"drop_same_day": False},
    ],
    ids=lambda rule: next(iter(rule)),
)
def test_removing_one_filter_pulls_the_price_toward_the_decoy(
    decoy_server: SimulatorServer, filtered_price: float, rule: dict
) -> None:
    loose = replace(DEFAULT_FILTER, **rule)
    price = compute_day_price(DAY, rpc_source(decoy_server), workers=1, tx_filter=loose).price
    assert abs(price - 61_800) < abs(filtered_price - 61_800)


def test_both_sources_give_identical_results(
    day_server: SimulatorServer,
) -> None:
    by_rpc = compute_day_price(DAY, rpc_source(day_server), workers=1)
    by_esplora = compute_day_price(DAY, esplora_source(day_server), workers=1)
    assert by_rpc.source == "bitcoind" and by_esplora.source == "esplora"
    ignore = ("source", "elapsed_s")
    assert {k: v for k, v in by_rpc.to_dict().items() if k not in ignore} == {
        k: v for k, v in by_esplora.to_dict().items() if k not in ignore
    }
    assert by_rpc.blocks == by_esplora.blocks


def test_worker_processes_give_the_same_result(day_server: SimulatorServer) -> None:
    threads = compute_day_price(DAY, rpc_source(day_server), workers=1)
    processes = compute_day_price(DAY, rpc_source(day_server), workers=2)
    assert processes.to_dict() | {"elapsed_s": 0} == threads.to_dict() | {"elapsed_s": 0}


def test_result_shape_and_per_block_detail(day_server: SimulatorServer) -> None:
    events: list[tuple[str, int, int]] = []
    result = compute_day_price(
        DAY, rpc_source(day_server), lambda *event: events.append(event), workers=1
    )
    data = result.to_dict()
    assert tuple(data) == RESULT_KEYS
    assert data["date"] == "2025-01-01" and data["algorithm"] == ALGORITHM
    assert isinstance(data["price"], float) and isinstance(data["price_rounded"], int)
    assert data["price_rounded"] == int(result.price)
    assert 0.0 <= data["confidence"] <= 1.0
    assert [b.height for b in result.blocks] == list(
        range(result.block_first, result.block_last + 1)
    )
    assert sum(b.points for b in result.blocks) == result.price_point_count
    low, high = result.rough_price * 0.95, result.rough_price * 1.05
    assert all(b.price is None or low < b.price < high for b in result.blocks)
    assert all(b.time // 86_400 == JAN_1 // 86_400 for b in result.blocks)
    assert events[0] == ("blocks", 0, 144) and events[-1] == ("blocks", 144, 144)
    assert [done for _, done, _ in events] == list(range(145))


def test_recent_mode_takes_the_blocks_below_the_tip(day_server: SimulatorServer) -> None:
    result = compute_recent_price(10, rpc_source(day_server), workers=1)
    tip = day_server.chain.tip
    assert (result.block_first, result.block_last, result.block_count) == (tip - 10, tip - 1, 10)
    assert result.date is None and result.to_dict()["date"] is None


# --- block selection --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def midnight_server(serve: Callable[..., SimulatorServer]) -> SimulatorServer:
    """Three days; the first block of Jan 2 is stamped 100 s before midnight, and the
    next-to-last block of Jan 2 is stamped 10 minutes into Jan 3."""
    overrides = {870156: JAN_1 + 86_400 - 100, 870298: JAN_1 + 2 * 86_400 + 600}
    params = ChainParams(txs_per_block=10, days=3, disorder=0.0, time_overrides=overrides)
    return serve(SimulatedChain(params))


@pytest.mark.parametrize(
    ("day", "first", "last"),
    [
        # Jan 1 ends with the early-stamped block 870156, whose day of the month is still 1.
        (date(2025, 1, 1), 870012, 870156),
        # Jan 2 starts after it, and stops before 870298, stamped on the 3rd.
        (date(2025, 1, 2), 870157, 870297),
        # Jan 3 starts at the first block at or after midnight reached from the estimate,
        # 870300: 870298 (stamped Jan 3) lies behind 870299 (stamped Jan 2), so neither counts.
        (date(2025, 1, 3), 870300, 870443),
    ],
)
def test_block_selection_around_out_of_order_midnights(
    midnight_server: SimulatorServer, day: date, first: int, last: int
) -> None:
    for source in (rpc_source(midnight_server), esplora_source(midnight_server)):
        refs = select_day_blocks(day, source)
        assert [ref.height for ref in refs] == list(range(first, last + 1))


def test_selection_jumps_when_the_block_rate_misleads_the_estimate(
    serve: Callable[..., SimulatorServer],
) -> None:
    """The block 6 below the tip is stamped 75 minutes early: the first estimate lands ~8 blocks
    late and the jump loop has to correct it."""
    base = ChainParams(txs_per_block=10, days=2, disorder=0.0)
    consensus = SimulatedChain(base).tip - 6
    nominal = SimulatedChain(base).block_time(consensus)
    chain = SimulatedChain(replace(base, time_overrides={consensus: nominal - 4_500}))
    refs = select_day_blocks(DAY, rpc_source(serve(chain)))
    assert [ref.height for ref in refs] == list(range(870012, 870156))


def test_refused_dates(day_server: SimulatorServer) -> None:
    source = rpc_source(day_server)
    with pytest.raises(DateNotServable, match="before 2023-12-15"):
        compute_day_price(date(2023, 12, 14), source)
    with pytest.raises(DateNotServable, match="in the future"):
        select_day_blocks(date(2025, 1, 5), source, today=date(2025, 1, 4))
    with pytest.raises(DateNotServable, match="latest servable day is 2025-01-01"):
        compute_day_price(date(2025, 1, 2), source)
    with pytest.raises(DateNotServable, match="only"):
        compute_recent_price(10**7, source)
    with pytest.raises(DateNotServable, match="at least one block"):
        compute_recent_price(0, source)


# --- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        (Faults(truncate_heights={870050}), "corrupt block: malformed block at byte"),
        (Faults(flip_heights={870050}), "merkle root does not match"),
        (Faults(bad_hex_heights={870050}), "not valid hex"),
        (Faults(swap_heights={870050}), "do not hash to its hash"),
    ],
)
def test_damaged_blocks_fail_naming_source_and_height(
    serve: Callable[..., SimulatorServer], day_chain: SimulatedChain, faults: Faults, reason: str
) -> None:
    server = serve(day_chain, faults)
    with pytest.raises(BlockSourceError) as caught:
        compute_day_price(DAY, rpc_source(server), workers=1)
    assert caught.value.source == "bitcoind" and caught.value.height == 870050
    assert reason in str(caught.value) and "height 870050" in str(caught.value)


def test_fallback_runs_the_day_on_the_next_source(day_server: SimulatorServer) -> None:
    dead = esplora_source_at(free_port())
    result = compute_day_price(DAY, FallbackSource([dead, rpc_source(day_server)]), workers=1)
    assert result.source == "bitcoind"


def test_fallback_reports_every_failure() -> None:
    sources = [esplora_source_at(free_port()), rpc_at(free_port())]
    with pytest.raises(BlockSourceError) as caught:
        compute_day_price(DAY, FallbackSource(sources), workers=1)
    message = str(caught.value)
    assert caught.value.source == "esplora,bitcoind"
    assert "block source esplora failed" in message and "block source bitcoind failed" in message


# --- many days through one pipeline -------------------------------------------------------------

THREE_DAYS = [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]
SECOND_DAY_BLOCK = 870_012 + 144 + 50


@pytest.fixture(scope="module")
def three_day_chain() -> SimulatedChain:
    return SimulatedChain(ChainParams(txs_per_block=40, days=3, seed=3))


def test_a_failed_day_does_not_stop_the_others(
    serve: Callable[..., SimulatorServer], three_day_chain: SimulatedChain
) -> None:
    server = serve(three_day_chain, Faults(truncate_heights={SECOND_DAY_BLOCK}))
    days = [date(2023, 12, 1), *THREE_DAYS, date(2025, 1, 4)]
    outcomes = dict(compute_day_prices(days, rpc_source(server), workers=2))
    assert list(outcomes) == days
    assert isinstance(outcomes[days[0]], DateNotServable)
    assert isinstance(outcomes[days[-1]], DateNotServable)
    failure = outcomes[THREE_DAYS[1]]
    assert isinstance(failure, BlockSourceError) and failure.height == SECOND_DAY_BLOCK
    clean = serve(three_day_chain)
    for day in (THREE_DAYS[0], THREE_DAYS[2]):
        expected = compute_day_price(day, rpc_source(clean), workers=1)
        assert replace(outcomes[day], elapsed_s=0) == replace(expected, elapsed_s=0)


def test_a_day_that_fails_on_the_first_source_is_computed_on_the_next(
    serve: Callable[..., SimulatorServer], three_day_chain: SimulatedChain
) -> None:
    damaged = serve(three_day_chain, Faults(truncate_heights={SECOND_DAY_BLOCK}))
    clean = serve(three_day_chain)
    source = FallbackSource([rpc_source(damaged), esplora_source(clean)])
    outcomes = list(compute_day_prices(THREE_DAYS, source, workers=1))
    assert all(isinstance(result, OracleResult) for _, result in outcomes)
    assert [result.source for _, result in outcomes] == ["bitcoind", "esplora", "bitcoind"]


def test_a_day_that_fails_on_every_source_names_every_failure(
    serve: Callable[..., SimulatorServer], three_day_chain: SimulatedChain
) -> None:
    damaged = serve(three_day_chain, Faults(truncate_heights={SECOND_DAY_BLOCK}))
    source = FallbackSource([rpc_source(damaged), esplora_source(damaged)])
    outcomes = dict(compute_day_prices(THREE_DAYS, source, workers=1))
    failure = outcomes[THREE_DAYS[1]]
    assert isinstance(failure, BlockSourceError) and failure.source == "bitcoind,esplora"
    assert "block source bitcoind failed" in str(failure)
    assert "block source esplora failed" in str(failure)
    assert isinstance(outcomes[THREE_DAYS[2]], OracleResult)


def test_progress_follows_the_day_being_finished(day_server: SimulatorServer) -> None:
    seen: list[tuple[int, int]] = []
    [(_, result)] = compute_day_prices(
        [DAY], rpc_source(day_server), lambda _, done, total: seen.append((done, total))
    )
    assert isinstance(result, OracleResult)
    assert seen == [(done, result.block_count) for done in range(result.block_count + 1)]


def test_a_window_without_outputs_is_reported_as_insufficient_data(
    day_server: SimulatorServer,
) -> None:
    nothing = replace(DEFAULT_FILTER, exact_outputs=1000)
    [(_, outcome)] = compute_day_prices([DAY], rpc_source(day_server), tx_filter=nothing)
    assert isinstance(outcome, InsufficientData)
