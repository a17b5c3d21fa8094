"""The monitor: one probe per check per cache window, last success across restarts, status logs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from health.base import registered_checks
from health.models import CheckSample
from health.monitor import HealthMonitor, SingleFlight
from tests.health.price_store import complete_store, publish_garbage
from tests.health.upstreams import Upstreams


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.django_db
async def test_a_hundred_concurrent_reports_probe_each_upstream_once(stack: Upstreams) -> None:
    stack.delay = 0.1  # every probe is still in flight while the other requests arrive
    monitor = HealthMonitor()
    reports = await asyncio.gather(*(monitor.report() for _ in range(100)))
    assert {report.status for report in reports} == {"healthy"}
    assert [stack.hits(name) for name in ("electrs", "mempool", "rpc")] == [1, 1, 1]


@pytest.mark.django_db
async def test_results_are_reused_for_the_cache_window_then_refreshed(stack, settings) -> None:
    settings.HEALTH_CACHE_SECONDS = 5
    clock = FakeClock()
    monitor = HealthMonitor(clock)
    first = await monitor.report()
    clock.now += 4.9
    second = await monitor.report()
    assert second.results["electrs"] is first.results["electrs"]
    assert stack.hits("electrs") == 1
    clock.now += 0.2
    third = await monitor.report()
    assert third.results["electrs"].checked_at > first.results["electrs"].checked_at
    assert stack.hits("electrs") == 2


async def test_single_flight_reuses_a_fresh_value() -> None:
    clock = FakeClock()
    cache = SingleFlight(clock)
    computed = []

    async def compute() -> int:
        computed.append(clock.now)
        return len(computed)

    assert [await cache.get("k", 5, compute) for _ in range(3)] == [1, 1, 1]
    clock.now += 5
    assert await cache.get("k", 5, compute) == 2


async def test_single_flight_shares_a_failure_and_forgets_it() -> None:
    calls = 0

    async def fail() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("broken")

    cache = SingleFlight()
    outcomes = await asyncio.gather(
        *(cache.get("k", 5, fail) for _ in range(3)), return_exceptions=True
    )
    assert calls == 1 and all(isinstance(o, RuntimeError) for o in outcomes)
    with pytest.raises(RuntimeError):
        await cache.get("k", 5, fail)
    assert calls == 2


@pytest.mark.django_db(transaction=True)
async def test_last_success_comes_from_the_history_after_a_restart(
    stack, settings, async_orm
) -> None:
    earlier = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    await CheckSample.objects.acreate(
        check_name="electrs", status="ok", latency_ms=3.0, checked_at=earlier
    )
    await CheckSample.objects.acreate(
        check_name="electrs", status="error", latency_ms=1.0, checked_at=earlier + timedelta(1)
    )
    stack.modes["electrs"] = "500"
    clock = FakeClock()
    monitor = HealthMonitor(clock)  # a process that just started
    electrs = (await monitor.report()).results["electrs"]
    assert (electrs.status, electrs.last_success) == ("error", earlier)
    stack.modes["electrs"] = "ok"
    clock.now += 10
    recovered = (await monitor.report()).results["electrs"]
    assert recovered.last_success == recovered.checked_at > earlier
    stack.modes["electrs"] = "500"
    clock.now += 10
    assert (await monitor.report()).results["electrs"].last_success == recovered.checked_at


async def test_without_a_readable_history_last_success_is_unknown(stack, json_logs) -> None:
    # No database access in this test: the history lookup fails and is retried later.
    stack.modes["electrs"] = "500"
    results = await HealthMonitor().results(registered_checks())
    assert results["electrs"].last_success is None
    assert json_logs.events("health_history_unavailable")


@pytest.mark.django_db
async def test_status_changes_are_logged_once(stack: Upstreams, settings, json_logs) -> None:
    clock = FakeClock()
    monitor = HealthMonitor(clock)
    checks = [c for c in registered_checks() if c.name == "electrs"]
    for mode in ("ok", "500", "500", "ok"):
        stack.modes["electrs"] = mode
        await monitor.results(checks)
        clock.now += 60
    failed = json_logs.events("health_check_failed")
    assert len(failed) == 1
    assert failed[0]["check"] == "electrs" and failed[0]["error"].endswith("HTTP 500")
    assert failed[0]["level"] == "warning"
    recovered = json_logs.events("health_check_recovered")
    assert [(line["check"], line["previous_status"]) for line in recovered] == [
        ("electrs", "error")
    ]


@pytest.mark.django_db
async def test_unknown_gaps_are_reported_as_none_and_logged_once(
    stack, settings, json_logs
) -> None:
    settings.HEALTH_CACHE_SECONDS = 0
    store = Path(settings.DUCKDB_PATH)
    publish_garbage(store)
    monitor = HealthMonitor()
    assert await monitor.missing_dates() is None
    assert await monitor.missing_dates() is None
    [line] = json_logs.events("health_gaps_unknown")
    assert "not a valid DuckDB" in line["error"]
    complete_store(store)  # a writer publishes a good snapshot again
    assert await monitor.missing_dates() == []
    publish_garbage(store)
    assert await monitor.missing_dates() is None
    assert len(json_logs.events("health_gaps_unknown")) == 2
