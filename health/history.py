"""The check history: record and prune samples, and the figures the admin's Service history page
shows (last success, uptime, latency percentiles, timeline buckets)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, Q
from django.db.models.functions import Trunc
from django.utils import timezone

from health.base import ServiceCheck
from health.models import CheckSample

OK = CheckSample.Status.OK
UPTIME_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
LATENCY_WINDOW = timedelta(hours=24)
# Timeline windows: (span, Trunc kind of a bucket, bucket span).
TIMELINE_WINDOWS = {
    "24h": (timedelta(hours=24), "minute", timedelta(minutes=1)),
    "7d": (timedelta(days=7), "hour", timedelta(hours=1)),
    "30d": (timedelta(days=30), "hour", timedelta(hours=1)),
}


def record_samples(results: Mapping[str, ServiceCheck]) -> list[CheckSample]:
    """Store one sample per check result."""
    return CheckSample.objects.bulk_create(
        CheckSample(
            check_name=name,
            status=result.status,
            latency_ms=result.latency_ms,
            error=result.error or "",
            checked_at=result.checked_at,
        )
        for name, result in results.items()
    )


def prune_samples(retention_days: int, now: datetime | None = None) -> int:
    """Delete samples older than `retention_days`; return how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=retention_days)
    deleted, _ = CheckSample.objects.filter(checked_at__lt=cutoff).delete()
    return deleted


def last_success(name: str) -> datetime | None:
    """When the named check last succeeded, according to the history."""
    return (
        CheckSample.objects.filter(check_name=name, status=OK)
        .order_by("-checked_at")
        .values_list("checked_at", flat=True)
        .first()
    )


def latest_samples(names: Iterable[str]) -> dict[str, CheckSample]:
    """The newest sample of each named check that has one."""
    found = {}
    for name in names:
        sample = CheckSample.objects.filter(check_name=name).order_by("-checked_at").first()
        if sample is not None:
            found[name] = sample
    return found


def last_successes(names: Iterable[str]) -> dict[str, datetime]:
    """The last success of each named check that has one."""
    found = {name: last_success(name) for name in names}
    return {name: when for name, when in found.items() if when is not None}


@dataclass(frozen=True)
class CheckOverview:
    """One row of the Service history page."""

    name: str
    latest: CheckSample | None
    last_success: datetime | None
    uptime_percent: dict[str, float | None]
    p50_ms: float | None
    p95_ms: float | None


def check_overviews(names: Iterable[str], now: datetime | None = None) -> list[CheckOverview]:
    """The overview of the named checks plus any other check seen in the last 30 days."""
    now = now or timezone.now()
    uptime = uptime_percentages(now)
    ordered = list(dict.fromkeys([*names, *sorted(uptime)]))
    overviews = []
    for name in ordered:
        latest = CheckSample.objects.filter(check_name=name).order_by("-checked_at").first()
        p50, p95 = latency_percentiles(name, now - LATENCY_WINDOW, now)
        empty: dict[str, float | None] = dict.fromkeys(UPTIME_WINDOWS)
        overviews.append(
            CheckOverview(name, latest, last_success(name), uptime.get(name, empty), p50, p95)
        )
    return overviews


def uptime_percentages(now: datetime) -> dict[str, dict[str, float | None]]:
    """Per check and window label, the share of ok samples in percent (None without samples)."""
    counts = {}
    for label, span in UPTIME_WINDOWS.items():
        recent = Q(checked_at__gt=now - span)
        counts[f"total_{label}"] = Count("id", filter=recent)
        counts[f"ok_{label}"] = Count("id", filter=recent & Q(status=OK))
    rows = (
        CheckSample.objects.filter(
            checked_at__gt=now - max(UPTIME_WINDOWS.values()), checked_at__lte=now
        )
        .values("check_name")
        .annotate(**counts)
        .order_by()
    )
    return {
        row["check_name"]: {
            label: percent(row[f"ok_{label}"], row[f"total_{label}"]) for label in UPTIME_WINDOWS
        }
        for row in rows
    }


def percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 2)


def latency_percentiles(
    name: str, since: datetime, until: datetime
) -> tuple[float | None, float | None]:
    """p50 and p95 (nearest rank) of the latency of the check's successful samples."""
    latencies = sorted(
        CheckSample.objects.filter(
            check_name=name,
            status=OK,
            checked_at__gt=since,
            checked_at__lte=until,
        ).values_list("latency_ms", flat=True)
    )
    return nearest_rank(latencies, 50), nearest_rank(latencies, 95)


def nearest_rank(ordered: list[float], pct: float) -> float | None:
    """The nearest-rank percentile of already sorted values."""
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Bucket:
    """The samples of one check in one time bucket."""

    start: datetime
    total: int
    failures: int
    latency_ms: float | None  # mean latency of the successful samples


def timeline_buckets(name: str, window: str, now: datetime) -> list[Bucket]:
    """The check's samples in the window, grouped into buckets (minutes for 24 h, else hours)."""
    span, kind, _ = TIMELINE_WINDOWS[window]
    rows = (
        CheckSample.objects.filter(check_name=name, checked_at__gt=now - span, checked_at__lte=now)
        .annotate(bucket=Trunc("checked_at", kind))
        .values("bucket")
        .annotate(
            total=Count("id"),
            failures=Count("id", filter=~Q(status=OK)),
            latency=Avg("latency_ms", filter=Q(status=OK)),
        )
        .order_by("bucket")
    )
    return [Bucket(row["bucket"], row["total"], row["failures"], row["latency"]) for row in rows]
