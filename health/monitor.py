"""Answer any number of health requests with at most one probe per check per cache window.

`HealthMonitor` keeps each check's latest result for `HEALTH_CACHE_SECONDS`; callers that find
no fresh result share the one probe in flight ("single flight"). It remembers when each check
last succeeded, seeded from the history table so that it survives restarts, and caches gap
detection the same way. It logs a check that recovers and, with its full detail, a check that
fails or fails for another reason; a failed result carries the correlation ID of that log line,
which /health shows beside the short public reason. One monitor serves a process:
`get_monitor()`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime
from functools import cache, partial
from typing import Any

import structlog
from django.conf import settings

from core.db import run_orm
from core.logging import current_correlation_id
from health.base import Check, ServiceCheck, missing_days, registered_checks, safe_message
from health.history import last_successes
from health.report import HealthReport

log = structlog.get_logger(__name__)
MISSING = object()


class SingleFlight:
    """A cache of awaited values: fresh values are reused, concurrent misses share one computation."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[float, Any]] = {}
        self._flights: dict[str, asyncio.Task] = {}

    def fresh(self, key: str, max_age: float) -> Any:
        """The value of `key` if computed less than `max_age` seconds ago, else MISSING."""
        stored = self._values.get(key)
        if stored is not None and self._clock() - stored[0] < max_age:
            return stored[1]
        return MISSING

    async def get(self, key: str, max_age: float, compute: Callable[[], Awaitable[Any]]) -> Any:
        """The value of `key` if computed less than `max_age` seconds ago, else a fresh one."""
        value = self.fresh(key, max_age)
        if value is not MISSING:
            return value
        flight = self._flights.get(key)
        if flight is None or flight.get_loop() is not asyncio.get_running_loop():
            flight = asyncio.ensure_future(self._compute(key, compute))
            self._flights[key] = flight
        # A caller that goes away (client disconnect) must not cancel the others' computation.
        return await asyncio.shield(flight)

    async def _compute(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        try:
            value = await compute()
            self._values[key] = (self._clock(), value)
            return value
        finally:
            if self._flights.get(key) is asyncio.current_task():
                del self._flights[key]


class HealthMonitor:
    """Cached, single-flight check results and gap detection for one process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._cache = SingleFlight(clock)
        self._last_success: dict[str, datetime] = {}
        self._last_status: dict[str, str] = {}
        self._failure_logged: dict[str, tuple[str, str | None, str | None]] = {}
        self._history_read = False
        self._gaps_known = True

    async def report(self) -> HealthReport:
        """Every enabled check and the missing price days, from results at most a window old."""
        checks = registered_checks()
        missing = self._cache.fresh("gaps", settings.HEALTH_CACHE_SECONDS)
        if missing is MISSING:
            results, missing = await asyncio.gather(self.results(checks), self.missing_dates())
        else:
            results = await self.results(checks)
        return HealthReport(checks, results, missing)

    async def results(
        self, checks: list[Check], *, max_age: float | None = None
    ) -> dict[str, ServiceCheck]:
        """The checks' results, probing (concurrently) only those older than `max_age` seconds."""
        age = settings.HEALTH_CACHE_SECONDS if max_age is None else max_age
        results = {c.name: self._cache.fresh(f"check:{c.name}", age) for c in checks}
        stale = [check for check in checks if results[check.name] is MISSING]
        if stale:  # probe them concurrently; a warm cache needs no task at all
            probed = await asyncio.gather(
                *(self._cache.get(f"check:{c.name}", age, partial(self._observe, c)) for c in stale)
            )
            results.update(zip([check.name for check in stale], probed, strict=True))
        return results

    async def missing_dates(self) -> list[date] | None:
        """The complete days without a valid price; None when the price store cannot tell."""
        return await self._cache.get("gaps", settings.HEALTH_CACHE_SECONDS, self._find_gaps)

    async def _observe(self, check: Check) -> ServiceCheck:
        result, _ = await asyncio.gather(check.run(), self._read_history())
        result = self._log_change(check.name, result)
        if result.ok:
            self._remember_success(check.name, result.checked_at)
        return replace(result, last_success=self._last_success.get(check.name))

    def _remember_success(self, name: str, when: datetime) -> None:
        known = self._last_success.get(name)
        self._last_success[name] = when if known is None else max(known, when)

    def _log_change(self, name: str, result: ServiceCheck) -> ServiceCheck:
        """Log what changed; the result with the correlation ID of its failure's log line."""
        previous = self._last_status.get(name)
        self._last_status[name] = result.status
        if result.ok:
            self._failure_logged.pop(name, None)
            if previous not in (None, result.status):
                log.info("health_check_recovered", check=name, previous_status=previous)
            return result
        status, reason, cid = self._failure_logged.get(name, (None, None, None))
        if (status, reason) != (result.status, result.reason):
            cid = current_correlation_id()
            log.warning("health_check_failed", check=name, status=result.status, error=result.error)
            self._failure_logged[name] = (result.status, result.reason, cid)
        return replace(result, correlation_id=cid)

    async def _read_history(self) -> None:
        if not self._history_read:
            await self._cache.get("history", settings.HEALTH_CACHE_SECONDS, self._load_history)

    async def _load_history(self) -> None:
        names = [check.name for check in registered_checks()]
        try:
            found = await asyncio.wait_for(
                run_orm(last_successes, names, parallel=True),
                settings.HEALTH_CHECK_TIMEOUT,
            )
        except Exception as exc:
            log.debug("health_history_unavailable", error=safe_message(repr(exc)))
            return
        for name, when in found.items():
            self._remember_success(name, when)
        self._history_read = True

    async def _find_gaps(self) -> list[date] | None:
        find = partial(missing_days, settings.HEALTH_GAP_DAYS)
        try:
            missing = await asyncio.wait_for(
                run_orm(find, parallel=True), settings.HEALTH_CHECK_TIMEOUT
            )
        except Exception as exc:
            if self._gaps_known:
                log.warning("health_gaps_unknown", error=safe_message(repr(exc)))
            self._gaps_known = False
            return None
        self._gaps_known = True
        return missing


@cache
def get_monitor() -> HealthMonitor:
    """The process's monitor."""
    return HealthMonitor()
