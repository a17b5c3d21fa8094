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
from health.report import HEALTHY, HealthReport
from notify import messages

log = structlog.get_logger(__name__)

# The first sample waits this long, so that loops starting beside it (the mempool feed) have
# reported once and are not recorded as failing at every worker start.
START_DELAY_SECONDS = 5.0


class StatusWatch:
    """The service's overall status from one sample to the next: a change is notified (and a
    first status other than healthy, so a worker starting into trouble says so)."""

    def __init__(self) -> None:
        self.status: str | None = None

    def observe(self, report: HealthReport) -> None:
        previous, self.status = self.status, report.status
        if report.status == previous or (previous is None and report.status == HEALTHY):
            return
        failing = [
            (check.name, result.status, result.reason or result.status)
            for check in report.checks
            if not (result := report.results[check.name]).ok
        ]
        missing = len(report.missing_dates or ())
        messages.health_change(previous, report.status, failing, missing)


async def loop(stop: asyncio.Event) -> None:
    """Every HEALTH_SAMPLE_SECONDS: probe every check afresh, store the results, prune, and
    notify a change of the overall status."""
    monitor = HealthMonitor()
    watch = StatusWatch()
    if await wait_or_stop(stop, min(START_DELAY_SECONDS, settings.HEALTH_SAMPLE_SECONDS)):
        return
    while not stop.is_set():
        with correlation_scope():
            await sample_once(monitor, watch)
        if await wait_or_stop(stop, settings.HEALTH_SAMPLE_SECONDS):
            return


async def sample_once(
    monitor: HealthMonitor, watch: StatusWatch | None = None
) -> dict[str, ServiceCheck]:
    """Probe every enabled check now and store the results; a database failure is logged. With
    a watch, the overall status (the missing days included) is compared with the last one."""
    checks = registered_checks()
    results = await monitor.results(checks, max_age=0)
    if watch is not None:
        watch.observe(HealthReport(checks, results, await monitor.missing_dates()))
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
