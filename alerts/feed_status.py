"""The mempool feed's statistics: kept by the worker, stored for the web process, judged for health.

The `mempool_feed` health check (`MempoolFeedCheck`, non-critical, registered by the app) is an
error when the feed has not heard from the backend for two minutes, or never reported at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import close_old_connections
from django.utils import timezone

from alerts.models import FeedStatus
from health.checks import Check, CheckError

STALE_AFTER = timedelta(minutes=2)
OK = "ok"
ERROR = "error"


@dataclass
class FeedStats:
    """Counters of one feed run; times are unix seconds."""

    started_at: float
    connected: bool = False
    connected_since: float | None = None
    last_message_at: float | None = None
    processed: int = 0
    whales: int = 0
    parse_errors: int = 0
    reconnects: int = 0
    resyncs: int = 0
    last_error: str = ""

    def last_message_age(self, now: float) -> float | None:
        return None if self.last_message_at is None else round(now - self.last_message_at, 1)

    def log_fields(self, now: float) -> dict[str, object]:
        return {
            "connected": self.connected,
            "processed": self.processed,
            "whales": self.whales,
            "parse_errors": self.parse_errors,
            "reconnects": self.reconnects,
            "resyncs": self.resyncs,
            "last_message_age_s": self.last_message_age(now),
        }


def store_stats(stats: FeedStats, now: datetime | None = None) -> None:
    """Write the stats to the one FeedStatus row (blocking)."""
    FeedStatus.objects.update_or_create(
        id=FeedStatus.SINGLETON_ID,
        defaults={
            "connected": stats.connected,
            "started_at": _dt(stats.started_at),
            "connected_since": _dt(stats.connected_since),
            "last_message_at": _dt(stats.last_message_at),
            "processed": stats.processed,
            "whales": stats.whales,
            "parse_errors": stats.parse_errors,
            "reconnects": stats.reconnects,
            "resyncs": stats.resyncs,
            "last_error": stats.last_error[:300],
            "updated_at": now or timezone.now(),
        },
    )


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


def _dt(unix: float | None) -> datetime | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC)


class MempoolFeedCheck(Check):
    """`mempool_feed` (non-critical): the worker's feed heard from the backend in the last 2 min."""

    name = "mempool_feed"
    critical = False

    def probe(self) -> None:
        close_old_connections()
        try:
            status, error = mempool_feed_check()
        finally:
            close_old_connections()
        if status != OK:
            raise CheckError(error or "mempool feed not ok")
