"""The mempool feed's statistics: counted by the worker and stored in the one FeedStatus row, which
the web process reads (admin, health: `alerts.checks`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from alerts.models import FeedStatus
from core.redaction import redact


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
    settled: int = 0
    backend: str = ""
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
            "settled": self.settled,
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
            "backend": stats.backend[:120],
            "last_error": redact(stats.last_error)[:300],
            "updated_at": now or timezone.now(),
        },
    )


def previous_last_message() -> float | None:
    """When the stored feed (a previous run of the worker) last heard the backend, unix seconds."""
    row = FeedStatus.objects.filter(id=FeedStatus.SINGLETON_ID).first()
    return None if row is None or row.last_message_at is None else row.last_message_at.timestamp()


def _dt(unix: float | None) -> datetime | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC)
