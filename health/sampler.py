"""The worker loop that records every check into the history and prunes old samples."""

from __future__ import annotations

import asyncio

import structlog
from django.conf import settings

from core.db import run_orm
from core.logging import correlation_scope
from core.worker import wait_or_stop
from health.base import ServiceCheck, registered_checks, safe_message
from health.history import prune_samples, record_samples
from health.monitor import HealthMonitor

log = structlog.get_logger(__name__)

# The first sample waits this long, so that loops starting beside it (the mempool feed) have
# reported once and are not recorded as failing at every worker start.
START_DELAY_SECONDS = 5.0


async def loop(stop: asyncio.Event) -> None:
    """Every HEALTH_SAMPLE_SECONDS: probe every check afresh, store the results, prune."""
    monitor = HealthMonitor()
    if await wait_or_stop(stop, min(START_DELAY_SECONDS, settings.HEALTH_SAMPLE_SECONDS)):
        return
    while not stop.is_set():
        with correlation_scope():
            await sample_once(monitor)
        if await wait_or_stop(stop, settings.HEALTH_SAMPLE_SECONDS):
            return


async def sample_once(monitor: HealthMonitor) -> dict[str, ServiceCheck]:
    """Probe every enabled check now and store the results; a database failure is logged."""
    results = await monitor.results(registered_checks(), max_age=0)
    try:
        pruned = await run_orm(_store, results, settings.HEALTH_RETENTION_DAYS, parallel=True)
    except Exception as exc:
        log.warning("health_samples_not_stored", error=safe_message(repr(exc)))
    else:
        log.debug("health_sampled", checks=len(results), pruned=pruned)
    return results


def _store(results: dict[str, ServiceCheck], retention_days: int) -> int:
    record_samples(results)
    return prune_samples(retention_days)
