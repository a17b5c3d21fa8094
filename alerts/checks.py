"""The alerts app's health check: `mempool_feed` (non-critical) is an error when the worker's feed
has not heard from the backend for two minutes, or never reported at all."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.utils import timezone

from alerts.models import FeedStatus
from core.db import run_orm
from health.base import Check, CheckError

STALE_AFTER = timedelta(minutes=2)
OK = "ok"
ERROR = "error"


def feed_health(status: FeedStatus | None, now: datetime) -> tuple[str, str | None]:
    """(`ok`, None) or (`error`, why) for the stored feed status at `now`.

    A feed that started less than two minutes ago and has not heard from the backend yet is
    still connecting, not failing.
    """
    if status is None:
        return ERROR, "the mempool feed has not reported yet (is the worker running?)"
    heard = status.last_message_at
    started = status.started_at
    if started is not None and (heard is None or heard < started):
        waiting = now - started
        if waiting < STALE_AFTER:
            return OK, None
        return ERROR, (
            f"no message from the mempool backend since the feed started "
            f"{int(waiting.total_seconds())} s ago"
        )
    if heard is None:
        return ERROR, "no message from the mempool backend yet"
    silent = now - heard
    if silent >= STALE_AFTER:
        return ERROR, f"no message from the mempool backend for {int(silent.total_seconds())} s"
    return OK, None


def mempool_feed_check() -> tuple[str, str | None]:
    """The `mempool_feed` health check (reads the stored status)."""
    return feed_health(
        FeedStatus.objects.filter(id=FeedStatus.SINGLETON_ID).first(), timezone.now()
    )


class MempoolFeedCheck(Check):
    """`mempool_feed` (non-critical): the worker's feed heard from the backend in the last 2 min."""

    name = "mempool_feed"
    critical = False

    async def probe(self) -> None:
        status, error = await run_orm(mempool_feed_check, parallel=True)
        if status != OK:
            # The public reason stays the same while the silence lasts (the detail counts it).
            raise CheckError(
                error or "mempool feed not ok", re.sub(r" \d+ s\b", " a while", error or "")
            )
