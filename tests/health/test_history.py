"""History figures (uptime, percentiles, buckets) and the timeline chart geometry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from health.charts import WIDTH, timeline_chart
from health.history import (
    Bucket,
    check_overviews,
    last_successes,
    latency_percentiles,
    nearest_rank,
    timeline_buckets,
    uptime_percentages,
)
from health.models import CheckSample

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def sample(name: str, status: str, ago: timedelta, latency: float = 10.0) -> CheckSample:
    return CheckSample.objects.create(
        check_name=name, status=status, latency_ms=latency, checked_at=NOW - ago
    )


@pytest.mark.django_db
def test_uptime_is_the_share_of_ok_samples_per_window() -> None:
    for minutes, status in ((10, "ok"), (20, "ok"), (30, "ok"), (40, "error")):
        sample("electrs", status, timedelta(minutes=minutes))
    sample("electrs", "timeout", timedelta(days=3))
    sample("electrs", "ok", timedelta(days=20))
    sample("electrs", "ok", timedelta(days=31))  # outside every window
    sample("mempool_backend", "error", timedelta(days=2))
    uptime = uptime_percentages(NOW)
    assert uptime["electrs"] == {"24h": 75.0, "7d": 60.0, "30d": 66.67}
    assert uptime["mempool_backend"] == {"24h": None, "7d": 0.0, "30d": 0.0}


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 21)]
    assert (nearest_rank(values, 50), nearest_rank(values, 95)) == (10.0, 19.0)
    assert nearest_rank([7.0], 95) == 7.0
    assert nearest_rank([], 50) is None


@pytest.mark.django_db
def test_latency_percentiles_use_successful_samples_in_the_window() -> None:
    for minute in range(1, 21):
        sample("electrs", "ok", timedelta(minutes=minute), latency=float(minute))
    sample("electrs", "timeout", timedelta(minutes=30), latency=2000.0)
    sample("electrs", "ok", timedelta(days=2), latency=5000.0)
    assert latency_percentiles("electrs", NOW - timedelta(hours=24), NOW) == (10.0, 19.0)


@pytest.mark.django_db
def test_overviews_list_registered_checks_and_any_seen_recently() -> None:
    sample("electrs", "ok", timedelta(hours=2), latency=4.0)
    latest = sample("electrs", "error", timedelta(hours=1))
    sample("retired_check", "ok", timedelta(days=3))
    overviews = {o.name: o for o in check_overviews(["database", "electrs"], NOW)}
    assert list(overviews) == ["database", "electrs", "retired_check"]
    electrs = overviews["electrs"]
    assert electrs.latest == latest
    assert electrs.last_success == NOW - timedelta(hours=2)
    assert electrs.uptime_percent["24h"] == 50.0
    assert (electrs.p50_ms, electrs.p95_ms) == (4.0, 4.0)
    database = overviews["database"]
    assert (database.latest, database.last_success, database.p50_ms) == (None, None, None)
    assert database.uptime_percent == {"24h": None, "7d": None, "30d": None}
    assert last_successes(["electrs", "database"]) == {"electrs": NOW - timedelta(hours=2)}


@pytest.mark.django_db
def test_timeline_buckets_group_by_minute_or_hour() -> None:
    sample("electrs", "ok", timedelta(minutes=5, seconds=10), latency=10.0)
    sample("electrs", "error", timedelta(minutes=5, seconds=40), latency=1.0)
    sample("electrs", "ok", timedelta(minutes=5, seconds=50), latency=20.0)
    sample("electrs", "ok", timedelta(minutes=90), latency=30.0)
    minutes = timeline_buckets("electrs", "24h", NOW)
    assert [(b.start, b.total, b.failures, b.latency_ms) for b in minutes] == [
        (NOW - timedelta(minutes=90), 1, 0, 30.0),
        (NOW - timedelta(minutes=6), 3, 1, 15.0),
    ]
    hours = timeline_buckets("electrs", "7d", NOW)
    assert [(b.start, b.total) for b in hours] == [
        (NOW - timedelta(hours=2), 1),
        (NOW - timedelta(hours=1), 3),
    ]


def test_the_chart_merges_runs_and_breaks_the_line_at_gaps() -> None:
    start = NOW - timedelta(minutes=10)
    minute = timedelta(minutes=1)
    buckets = [
        Bucket(start, 1, 0, 10.0),
        Bucket(start + minute, 1, 0, 20.0),
        Bucket(start + 2 * minute, 2, 1, 20.0),
        Bucket(start + 3 * minute, 1, 1, None),
        # four minutes without samples: more than twice the sampling interval
        Bucket(start + 7 * minute, 1, 0, 10.0),
    ]
    chart = timeline_chart(buckets, start, NOW, minute)
    step = WIDTH / 10
    assert [(b.state, b.x, b.width) for b in chart.bands] == [
        ("ok", 0.0, 2 * step),
        ("partial", 2 * step, step),
        ("down", 3 * step, step),
        ("ok", 7 * step, step),
    ]
    assert chart.bands[0].title == "2024-05-10 11:50 to 2024-05-10 11:52 UTC: 0 of 2 failed"
    assert chart.latency_max_ms == 20.0
    assert chart.latency_path == "M36.0,50.0 l0,0 L108.0,20.0 L180.0,20.0 M540.0,50.0 l0,0"


def test_sparse_samples_fill_the_time_between_them() -> None:
    start = NOW - timedelta(minutes=20)
    every = timedelta(minutes=5)
    buckets = [Bucket(start + n * every, 1, 0, 5.0) for n in range(3)]
    chart = timeline_chart(buckets, start, NOW, timedelta(minutes=1))
    assert [(b.state, b.x, b.width) for b in chart.bands] == [("ok", 0.0, 540.0)]
    assert chart.latency_path.count("M") == 1


def test_an_empty_chart() -> None:
    chart = timeline_chart([], NOW - timedelta(days=1), NOW, timedelta(minutes=1))
    assert (chart.bands, chart.latency_path, chart.latency_max_ms) == ([], "", None)
