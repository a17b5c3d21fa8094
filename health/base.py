"""What a service check is, the registry, and the rules every check follows.

A check is a small object with a `name`, a `critical` flag (a failure makes the service
unhealthy rather than degraded), an optional `timeout` (seconds; None means
`settings.HEALTH_CHECK_TIMEOUT`) and one method to write, `probe()`: it returns when the service
is fine and raises `CheckError` (or `CheckTimeout`) when it is not: its message is the full detail
(logged, kept in the history and shown on staff pages, redacted of secrets) and its `public`
reason a short one for /health, without internal paths, hosts or ports (the message itself when
not given, so give one whenever the message names such things).
`probe` may be a plain method (it then runs in a worker thread, so blocking I/O is fine) or an
`async def` (it then must not block). The base class's `run()` turns one probe into a
`ServiceCheck`, bounded by the timeout; it never raises.

Apps register their checks once, from their `AppConfig.ready()`:

    from health.base import Check, CheckError, register

    class MempoolFeedCheck(Check):
        name = "mempool_feed"
        critical = False

        def probe(self) -> None:
            age = seconds_since_last_mempool_update()
            if age > 120:
                raise CheckError(f"no mempool update for {age:.0f} s")

    register(MempoolFeedCheck())

`enabled()` may return False to leave a check out while its service is not configured;
`component_type` is reported in the IETF health format (component, datastore or system).

The report also lists the complete days without a price: the app that keeps the series registers
the function that finds them with `register_gap_finder` (none registered: no day is missing).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Literal

import structlog
from django.conf import settings

from core.http import UpstreamError
from core.redaction import redact

log = structlog.get_logger(__name__)

Status = Literal["ok", "error", "timeout"]
PROBE_THREADS = 16
ERROR_MAX_CHARS = 300


@dataclass(frozen=True)
class ServiceCheck:
    """The outcome of one check: what /health reports for it."""

    status: Status
    latency_ms: float
    error: str | None  # the full detail: logs, history and staff pages
    last_success: datetime | None
    checked_at: datetime
    reason: str | None = None  # the short reason public bodies show
    correlation_id: str | None = None  # of the log line with the full detail of a failure

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class CheckError(Exception):
    """The service answered wrongly or not at all: the message is the full detail, `public` the
    short reason for public bodies (see the module docstring)."""

    def __init__(self, detail: str, public: str | None = None) -> None:
        super().__init__(detail)
        self.public = public or detail


class CheckTimeout(CheckError):
    """The service did not answer in time."""


class Check:
    """Base class of a service check (see the module docstring)."""

    name: str = ""
    critical: bool = False
    timeout: float | None = None
    component_type: str = "component"

    @property
    def timeout_seconds(self) -> float:
        return settings.HEALTH_CHECK_TIMEOUT if self.timeout is None else self.timeout

    def enabled(self) -> bool:
        """Whether the check applies to this installation."""
        return True

    def probe(self) -> None:
        """Return when the service is fine; raise CheckError otherwise."""
        raise NotImplementedError

    async def run(self) -> ServiceCheck:
        """Probe once within the timeout and report the outcome; never raises."""
        checked_at = datetime.now(UTC)
        started = time.perf_counter()
        status: Status = "ok"
        error = reason = None
        try:
            await asyncio.wait_for(self._probe_once(), self.timeout_seconds)
        except TimeoutError:
            status, error = "timeout", f"no answer within {self.timeout_seconds:g} s"
            reason = error
        except CheckError as exc:
            status = "timeout" if isinstance(exc, CheckTimeout) else "error"
            error, reason = safe_message(str(exc)), safe_message(exc.public)
        except Exception as exc:
            log.warning("health_check_crashed", check=self.name, exc_info=True)
            status, error = "error", safe_message(f"{type(exc).__name__}: {exc}")
            reason = f"the check failed ({type(exc).__name__})"
        latency = round((time.perf_counter() - started) * 1000, 1)
        return ServiceCheck(
            status, latency, error, checked_at if status == "ok" else None, checked_at, reason
        )

    async def _probe_once(self) -> None:
        if inspect.iscoroutinefunction(self.probe):
            await self.probe()
            return
        # A thread cannot be cancelled: while the previous probe of this check is still stuck
        # in its thread, wait for it (within this run's timeout) rather than pile up threads and
        # requests on a hung service.
        previous = _unfinished_probes.get(self.name)
        if previous is not None and not previous.done():
            await asyncio.wrap_future(previous)
        future = _probe_threads().submit(contextvars.copy_context().run, _outcome, self.probe)
        _unfinished_probes[self.name] = future
        failure = await asyncio.wrap_future(future)
        if failure is not None:
            raise failure


def _outcome(probe: Callable[[], None]) -> Exception | None:
    """Run a blocking probe; return its exception instead of raising it (waiters ignore it)."""
    try:
        probe()
    except Exception as exc:
        return exc
    return None


_registry: dict[str, Check] = {}
_unfinished_probes: dict[str, Future] = {}


@cache
def _probe_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PROBE_THREADS, thread_name_prefix="health-probe")


def register(check: Check) -> Check:
    """Add a check to the registry; its name must be new."""
    if not check.name:
        raise ValueError("a check needs a name")
    if check.name in _registry:
        raise ValueError(f"a check named {check.name!r} is registered already")
    _registry[check.name] = check
    return check


def unregister(name: str) -> None:
    """Remove the named check from the registry, if it is there."""
    _registry.pop(name, None)


def registered_checks(*, critical_only: bool = False) -> list[Check]:
    """The enabled checks in registration order (only the critical ones when asked), less those
    the operator turned off with HEALTH_DISABLED_CHECKS."""
    return [
        check
        for check in _registry.values()
        if check.name not in settings.HEALTH_DISABLED_CHECKS
        and check.enabled()
        and (check.critical or not critical_only)
    ]


async def run_checks(checks: list[Check]) -> dict[str, ServiceCheck]:
    """Run the checks concurrently; each is bounded by its own timeout."""
    results = await asyncio.gather(*(check.run() for check in checks))
    return {check.name: result for check, result in zip(checks, results, strict=True)}


def safe_message(text: str) -> str:
    """An error text without credentials or configured secrets (`core.redaction.redact`), of
    bounded length."""
    return redact(text)[:ERROR_MAX_CHARS]


def upstream_check_error(exc: UpstreamError) -> CheckError:
    """The check failure for a failed upstream call: a timeout stays a timeout; the public reason
    is the kind of failure (`connection failed`, `HTTP 401`), without URL path or OS detail."""
    if exc.reason == "timed out":
        return CheckTimeout(str(exc), exc.reason)
    return CheckError(str(exc), exc.reason.split(" (", 1)[0][:ERROR_MAX_CHARS])


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


GapFinder = Callable[[int], list[date]]
_gap_finder: GapFinder | None = None


def register_gap_finder(finder: GapFinder) -> None:
    """Set the function that lists the complete days without a price among the last N."""
    global _gap_finder
    _gap_finder = finder


def missing_days(days: int) -> list[date]:
    """The complete days without a price among the last `days` (blocking; [] without a finder)."""
    return [] if _gap_finder is None else _gap_finder(days)
