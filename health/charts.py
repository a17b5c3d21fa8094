"""Geometry of the Service history timeline, drawn as inline SVG by the admin template.

A timeline has a status strip (runs of buckets that were all ok, partly failing or all failing;
a stretch without samples stays blank) and a latency line (mean latency of the successful samples
per bucket, broken where there is none). A bucket stands for the time until the next one when that
comes within twice the usual spacing of buckets, so a sampling interval longer than a bucket leaves
no false gaps while a stopped worker does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

from health.history import Bucket

WIDTH = 720
STRIP_HEIGHT = 14
LINE_TOP = 20
LINE_HEIGHT = 60
HEIGHT = LINE_TOP + LINE_HEIGHT


@dataclass(frozen=True)
class Band:
    """A run of consecutive buckets in the same state: ok, partial or down."""

    x: float
    width: float
    state: str
    title: str


@dataclass(frozen=True)
class TimelineChart:
    bands: list[Band]
    latency_path: str
    latency_max_ms: float | None
    start: datetime
    end: datetime
    width: int = WIDTH
    height: int = HEIGHT
    strip_height: int = STRIP_HEIGHT
    line_top: int = LINE_TOP
    line_bottom: int = HEIGHT


def usual_spacing(buckets: list[Bucket]) -> timedelta:
    """The median time between consecutive buckets (zero with fewer than two)."""
    gaps = [following.start - bucket.start for bucket, following in pairwise(buckets)]
    return median(gaps) if gaps else timedelta(0)


def bucket_state(bucket: Bucket) -> str:
    if bucket.failures == 0:
        return "ok"
    return "down" if bucket.failures == bucket.total else "partial"


def timeline_chart(
    buckets: list[Bucket],
    start: datetime,
    end: datetime,
    bucket_span: timedelta,
) -> TimelineChart:
    """Lay out the buckets of [start, end] on a WIDTH-pixel-wide chart."""
    scale = WIDTH / (end - start).total_seconds()
    spacing = max(bucket_span, usual_spacing(buckets))
    join_within = 2 * spacing

    def x_of(moment: datetime) -> float:
        return round(min(WIDTH, max(0.0, (moment - start).total_seconds() * scale)), 2)

    ends = [
        following.start if following.start - bucket.start <= join_within else None
        for bucket, following in pairwise(buckets)
    ]
    ends.append(None)
    runs: list[list[tuple[Bucket, datetime]]] = []
    for index, bucket in enumerate(buckets):
        joined = index > 0 and ends[index - 1] is not None
        end_of_bucket = ends[index] or bucket.start + spacing
        if joined and bucket_state(runs[-1][-1][0]) == bucket_state(bucket):
            runs[-1].append((bucket, end_of_bucket))
        else:
            runs.append([(bucket, end_of_bucket)])
    bands = [
        Band(
            x=x_of(run[0][0].start),
            width=round(x_of(run[-1][1]) - x_of(run[0][0].start), 2),
            state=bucket_state(run[0][0]),
            title=_band_title([bucket for bucket, _ in run], run[-1][1]),
        )
        for run in runs
    ]
    latencies = [b.latency_ms for b in buckets if b.latency_ms is not None]
    top = max(latencies, default=None)
    path = _latency_path(buckets, top, join_within, bucket_span, x_of)
    return TimelineChart(bands, path, top, start, end)


def _latency_path(
    buckets: list[Bucket],
    top: float | None,
    join_within: timedelta,
    bucket_span: timedelta,
    x_of: Callable[[datetime], float],
) -> str:
    """SVG path data: one segment per stretch of close buckets with a latency."""
    commands = []
    previous: Bucket | None = None
    for bucket in buckets:
        if bucket.latency_ms is None or not top:
            previous = None
            continue
        joined = previous is not None and bucket.start - previous.start <= join_within
        y = round(LINE_TOP + LINE_HEIGHT * (1 - bucket.latency_ms / top), 2)
        point = f"{x_of(bucket.start + bucket_span / 2)},{y}"
        # A segment starts with a zero-length stroke so that a lone point still shows as a dot.
        commands.append(f"L{point}" if joined else f"M{point} l0,0")
        previous = bucket
    return " ".join(commands)


def _band_title(run: list[Bucket], end: datetime) -> str:
    total = sum(b.total for b in run)
    failures = sum(b.failures for b in run)
    return (
        f"{run[0].start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC: {failures} of {total} failed"
    )
