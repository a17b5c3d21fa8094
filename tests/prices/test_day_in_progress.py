"""The day in progress over the loopback simulator: its blocks as the tip moves, only new blocks
fetched, a reorganisation, and once every block of the day is in, the final price bit for bit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest

from core.upstreams.esplora import EsploraClient
from prices.utxoracle.algorithm import InsufficientData
from prices.utxoracle.engine import (
    DateNotServable,
    DayInProgress,
    compute_day_price,
    select_blocks_so_far,
)
from prices.utxoracle.sources import BlockRef, EsploraSource, FallbackSource
from simulators.chain import ChainParams, SimulatedChain, SimulatorServer
from tests.prices.helpers import FAST_HTTP, esplora_source, esplora_source_at, rpc_source
from tests.support import free_port

SECOND_DAY = date(2025, 1, 2)


class CountingSource(EsploraSource):
    """An Esplora source that notes the height of every block it fetches."""

    def __init__(self, server: SimulatorServer) -> None:
        super().__init__(EsploraClient(server.url, FAST_HTTP, service="esplora"))
        self.fetched: list[int] = []

    def raw_block(self, ref: BlockRef) -> bytes:
        self.fetched.append(ref.height)
        return super().raw_block(ref)


@pytest.fixture(scope="module")
def server(serve: Callable[..., SimulatorServer]) -> Iterator[SimulatorServer]:
    """Two days from 2025-01-01; tests move the tip and the fixture puts it back."""
    running = serve(SimulatedChain(ChainParams(txs_per_block=40, days=2, seed=3)))
    end = running.chain.tip
    yield running
    running.chain.tip = end


@pytest.fixture
def chain(server: SimulatorServer) -> Iterator[SimulatedChain]:
    end = server.chain.tip
    yield server.chain
    server.chain.tip = end


def heights_on(chain: SimulatedChain, day: date) -> list[int]:
    return [
        h
        for h in range(chain.params.base_height, chain.tip + 1)
        if datetime.fromtimestamp(chain.block_time(h), UTC).date() == day
    ]


def test_the_day_grows_with_the_tip_and_fetches_only_new_blocks(
    server: SimulatorServer, chain: SimulatedChain
) -> None:
    heights = heights_on(chain, SECOND_DAY)
    source = CountingSource(server)
    day = DayInProgress(SECOND_DAY)

    chain.tip = heights[0] - 1  # the previous day's last block
    assert not day.update(source)
    with pytest.raises(InsufficientData, match="no block of 2025-01-02 yet"):
        day.result(source.name)

    chain.tip = heights[29]
    assert day.update(source)
    assert [ref.height for ref in day.refs] == heights[:30]
    assert not day.update(source)  # nothing new
    chain.tip = heights[30]
    assert day.update(source)
    assert [ref.height for ref in day.refs] == heights[:31]
    assert source.fetched == heights[:31]  # each block once

    result = day.result(source.name)
    assert (result.date, result.block_count) == (SECOND_DAY, 31)
    assert (result.block_first, result.block_last) == (heights[0], heights[30])
    assert result.price == pytest.approx(chain.price_at(heights[15]), rel=0.003)


def test_with_every_block_of_the_day_it_is_the_final_price_bit_for_bit(
    server: SimulatorServer, chain: SimulatedChain
) -> None:
    heights = heights_on(chain, SECOND_DAY)
    end = chain.tip
    day = DayInProgress(SECOND_DAY)
    for tip in (heights[50], heights[-1], end):  # the tip passes midnight: the day stops there
        chain.tip = tip
        day.update(esplora_source(server))
    provisional = day.result("esplora")
    final = compute_day_price(SECOND_DAY, rpc_source(server), workers=1)
    assert [ref.height for ref in day.refs] == heights
    for field in ("price", "rough_price", "output_count", "price_point_count", "deviation"):
        assert getattr(provisional, field) == getattr(final, field)
    assert provisional.blocks == final.blocks
    assert (provisional.cloud.counts == final.cloud.counts).all()


def test_a_tip_below_the_blocks_taken_starts_the_day_again(
    server: SimulatorServer, chain: SimulatedChain
) -> None:
    heights = heights_on(chain, SECOND_DAY)
    source = CountingSource(server)
    day = DayInProgress(SECOND_DAY)
    chain.tip = heights[20]
    day.update(source)
    chain.tip = heights[10]  # a reorganisation, seen as a shorter chain
    assert day.update(source)
    assert [ref.height for ref in day.refs] == heights[:11]
    assert source.fetched == heights[:21] + heights[:11]


def test_the_blocks_so_far_are_empty_before_the_first_block_of_the_day(
    server: SimulatorServer, chain: SimulatedChain
) -> None:
    chain.tip = heights_on(chain, SECOND_DAY)[0] - 1
    assert select_blocks_so_far(SECOND_DAY, esplora_source(server)) == []
    assert select_blocks_so_far(date(2025, 1, 3), esplora_source(server)) == []
    with pytest.raises(DateNotServable, match="before 2023-12-15"):
        select_blocks_so_far(date(2023, 1, 1), esplora_source(server))


def test_a_fallback_source_is_used_when_the_first_fails(server: SimulatorServer) -> None:
    source = FallbackSource([esplora_source_at(free_port()), esplora_source(server)])
    day = DayInProgress(SECOND_DAY)
    assert day.update(source)
    assert len(day.refs) == 144
