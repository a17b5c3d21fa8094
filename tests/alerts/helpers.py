"""Helpers for the alerts tests: a running feed against the simulator, waiting for conditions."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from alerts.detector import Thresholds
from alerts.feed import FeedConfig, MempoolFeed
from alerts.mempool_simulator import MempoolSimulator, make_transaction

RNG = random.Random(20240601)


def whale(btc: float = 500.0, **kwargs: Any) -> dict[str, Any]:
    return make_transaction(RNG, btc=btc, **kwargs)


def minnow(**kwargs: Any) -> dict[str, Any]:
    return make_transaction(RNG, btc=0.05, **kwargs)


def feed_config(simulator: MempoolSimulator, **overrides: Any) -> FeedConfig:
    values: dict[str, Any] = {
        "ws_url": simulator.ws_url,
        "http_url": simulator.url,
        "thresholds": Thresholds(100.0),
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
        "stats_interval": 0.1,
        "stats_log_interval": 0.2,
    }
    values.update(overrides)
    return FeedConfig(**values)


async def eventually(
    condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02
) -> Any:
    """Wait until `condition()` (sync or async) is truthy and return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@asynccontextmanager
async def running_feed(simulator: MempoolSimulator, **overrides: Any) -> AsyncIterator[MempoolFeed]:
    """A feed following the simulator, connected and past its first sync."""
    feed = MempoolFeed(feed_config(simulator, **overrides))
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(stop))
    try:
        await simulator.wait_for_tracking()
        await eventually(lambda: feed.has_baseline)
        yield feed
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
