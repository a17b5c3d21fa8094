"""The worker loop that deletes whale alerts older than ALERTS_RETENTION_DAYS (0 keeps them)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from django.conf import settings
from django.utils import timezone

from alerts import store
from core.db import run_orm
from core.logging import correlation_scope
from core.redaction import redact_text
from core.worker import wait_or_stop

log = structlog.get_logger(__name__)

PRUNE_EVERY_SECONDS = 3600.0


async def loop(stop: asyncio.Event) -> None:
    """At start and every hour: delete the alerts stored more than the retention ago."""
    days = settings.ALERTS_RETENTION_DAYS
    if not days:
        log.info("alert_retention_off")
        await stop.wait()
        return
    while True:
        with correlation_scope():
            await prune_once(days)
        if await wait_or_stop(stop, PRUNE_EVERY_SECONDS):
            return


async def prune_once(days: int) -> int:
    """Delete the alerts older than `days`; how many (a database failure is logged, 0)."""
    before = timezone.now() - timedelta(days=days)
    try:
        deleted = await run_orm(store.prune_alerts, before)
    except Exception as exc:
        log.warning("alerts_not_pruned", error=redact_text(f"{type(exc).__name__}: {exc}"))
        return 0
    if deleted:
        log.info("alerts_pruned", deleted=deleted, retention_days=days)
    return deleted
