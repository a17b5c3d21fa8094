"""Background loops used by the worker tests (loaded through ORACLE_TEST_WORKER_LOOPS)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import structlog

from core.worker import wait_or_stop

log = structlog.get_logger(__name__)


async def ticking(stop: asyncio.Event) -> None:
    """Log a tick every 50 ms until stopped."""
    while not await wait_or_stop(stop, 0.05):
        log.info("tick")


async def crashing(stop: asyncio.Event) -> None:
    """Count starts in a file, crash on the first start, then run until stopped."""
    counter = Path(os.environ["ORACLE_TEST_COUNTER"])
    starts = int(counter.read_text() or 0) + 1 if counter.exists() else 1
    counter.write_text(str(starts))
    if starts == 1:
        raise RuntimeError("first start fails")
    await stop.wait()


async def stubborn(stop: asyncio.Event) -> None:
    """Ignore the stop request (the worker must cancel it after the grace period)."""
    await asyncio.sleep(3600)
