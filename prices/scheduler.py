"""The worker's price loop: bring the store's schema up to date at start, compute the missing days
every PRICE_UPDATE_SECONDS, and run the backfill requests queued from the admin in between."""

from __future__ import annotations

import asyncio
import time

import structlog
from django.conf import settings

from core.db import run_orm
from core.logging import correlation_scope
from core.worker import wait_or_stop
from prices.backfills import requeue_interrupted, run_queued_backfills
from prices.ingestion import update_prices
from prices.store import migrate

log = structlog.get_logger(__name__)

BACKFILL_POLL_SECONDS = 5.0


def _update() -> None:
    try:
        update_prices()
    except Exception:
        log.exception("price_update_failed")


async def loop(stop: asyncio.Event) -> None:
    """Run until `stop` is set; a backfill in progress stops between blocks and resumes later."""
    applied = await asyncio.to_thread(migrate)
    requeued = await run_orm(requeue_interrupted, parallel=True)
    log.info("price_scheduler_started", schema_applied=applied, backfills_requeued=requeued)
    next_update = time.monotonic()
    while not stop.is_set():
        if time.monotonic() >= next_update:
            with correlation_scope(task="update_prices"):
                await run_orm(_update, parallel=True)
            next_update = time.monotonic() + settings.PRICE_UPDATE_SECONDS
        with correlation_scope(task="backfill"):
            await run_orm(run_queued_backfills, stop.is_set, parallel=True)
        pause = min(BACKFILL_POLL_SECONDS, max(0.0, next_update - time.monotonic()))
        if await wait_or_stop(stop, pause):
            return
