"""Supervise the worker's background loops: start each, restart a crashed one with backoff, stop
all cleanly on request.

A loop is `async def loop(stop: asyncio.Event) -> None` that returns soon after `stop` is set.
Blocking work belongs in a thread (`core.db.run_orm` when it may touch the database, else
`asyncio.to_thread`); each unit of work binds its own correlation ID (`correlation_scope`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import structlog
from django.utils.module_loading import import_string

log = structlog.get_logger(__name__)

LoopFunction = Callable[[asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class Loop:
    """A named background loop."""

    name: str
    run: LoopFunction


@dataclass(frozen=True)
class Backoff:
    """Retry delays, the one rule for every retry loop of the service: doubling from `initial` up
    to `maximum`, each drawn between half and all of that (so that many clients do not retry in
    step); a run that lasted `healthy_after` seconds starts again from `initial`."""

    initial: float = 1.0
    maximum: float = 60.0
    healthy_after: float = 60.0

    def delay(self, attempt: int) -> float:
        """The wait before retry number `attempt` (0 for the first)."""
        ceiling = min(self.maximum, self.initial * 2 ** min(attempt, 32))
        return random.uniform(ceiling / 2, ceiling)


def loops_from_paths(paths: Iterable[str]) -> list[Loop]:
    """Import loop functions from dotted paths (settings.WORKER_LOOPS)."""
    return [Loop(name=path.rsplit(".", 2)[-2], run=import_string(path)) for path in paths]


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; return True when `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


async def supervise(loop: Loop, stop: asyncio.Event, backoff: Backoff = Backoff()) -> None:
    """Run one loop until `stop`, restarting it with backoff whenever it crashes or returns."""
    attempt = 0
    clock = asyncio.get_running_loop().time
    with structlog.contextvars.bound_contextvars(loop=loop.name):
        while not stop.is_set():
            started = clock()
            log.info("loop_started")
            try:
                await loop.run(stop)
            except asyncio.CancelledError:
                log.info("loop_stopped", reason="cancelled")
                raise
            except Exception:
                log.exception("loop_crashed")
            else:
                if stop.is_set():
                    break
                log.warning("loop_returned_early")
            if clock() - started >= backoff.healthy_after:
                attempt = 0
            delay = backoff.delay(attempt)
            attempt += 1
            log.info("loop_restart_scheduled", delay_s=round(delay, 3))
            if await wait_or_stop(stop, delay):
                break
        log.info("loop_stopped", reason="stop requested")


async def run_loops(
    loops: list[Loop], stop: asyncio.Event, *, grace: float = 4.0, backoff: Backoff = Backoff()
) -> None:
    """Supervise every loop until `stop` is set, then give them `grace` seconds before cancelling."""
    tasks = [asyncio.create_task(supervise(loop, stop, backoff), name=loop.name) for loop in loops]
    log.info("worker_started", loops=[loop.name for loop in loops])
    await stop.wait()
    if not tasks:
        log.info("worker_stopped")
        return
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        log.warning("loop_cancelled_after_grace", loop=task.get_name(), grace_s=grace)
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    log.info("worker_stopped")
