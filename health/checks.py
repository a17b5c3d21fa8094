"""Service checks: what a check is, the registry, and the checks built in.

A check is a small object with a `name`, a `critical` flag (a failure makes the service
unhealthy rather than degraded), an optional `timeout` (seconds; None means
`settings.HEALTH_CHECK_TIMEOUT`) and one method to write, `probe()`: it returns when the service
is fine and raises `CheckError` (or `CheckTimeout`) with a message safe to show when it is not.
`probe` may be a plain method (it then runs in a worker thread, so blocking I/O is fine) or an
`async def` (it then must not block). The base class's `run()` turns one probe into a
`ServiceCheck`, bounded by the timeout; it never raises.

Other apps register their checks once, from their `AppConfig.ready()`:

    from health.checks import Check, CheckError, register

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
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import math
import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal
from urllib.parse import urlsplit

import redis
import redis.asyncio
import structlog
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import Error as DjangoDatabaseError

from core.http import UpstreamError, fetch, http_session
from prices.selectors import ping_price_store
from prices.store import StoreUnavailable

log = structlog.get_logger(__name__)

Status = Literal["ok", "error", "timeout"]
PROBE_BODY_LIMIT = 64 * 1024
PROBE_THREADS = 16
ERROR_MAX_CHARS = 300
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


@dataclass(frozen=True)
class ServiceCheck:
    """The outcome of one check: what /health reports for it."""

    status: Status
    latency_ms: float
    error: str | None
    last_success: datetime | None
    checked_at: datetime

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class CheckError(Exception):
    """The service answered wrongly or not at all; the message is shown and logged."""


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
        error = None
        try:
            await asyncio.wait_for(self._probe_once(), self.timeout_seconds)
        except TimeoutError:
            status, error = "timeout", f"no answer within {self.timeout_seconds:g} s"
        except CheckTimeout as exc:
            status, error = "timeout", safe_message(str(exc))
        except CheckError as exc:
            status, error = "error", safe_message(str(exc))
        except Exception as exc:
            log.warning("health_check_crashed", check=self.name, exc_info=True)
            status, error = "error", safe_message(f"{type(exc).__name__}: {exc}")
        latency = round((time.perf_counter() - started) * 1000, 1)
        return ServiceCheck(
            status, latency, error, checked_at if status == "ok" else None, checked_at
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
    """An error text without `user:pass@` in URLs or configured secrets, of bounded length."""
    text = _USERINFO.sub(r"\1", text)
    for secret in _configured_secrets():
        text = text.replace(secret, "***")
    return text[:ERROR_MAX_CHARS]


def _configured_secrets() -> list[str]:
    urls = [settings.ELECTRS_URL, settings.MEMPOOL_URL, settings.BITCOIN_RPC_URL]
    urls.append(settings.REDIS_URL or "")
    secrets = [urlsplit(url).password for url in urls]
    secrets += [settings.BITCOIN_RPC_PASSWORD, settings.DATABASES[DEFAULT_DB_ALIAS].get("PASSWORD")]
    return [secret for secret in secrets if secret]


# Built-in checks ---------------------------------------------------------------------------------


class PriceStoreCheck(Check):
    """The DuckDB price store's published snapshot answers a trivial query (the earlier API's
    "database"); readers never wait for the worker's writes."""

    name = "database"
    critical = True
    component_type = "datastore"

    def probe(self) -> None:
        try:
            ping_price_store()
        except StoreUnavailable as exc:
            raise CheckError(f"price store: {first_line(exc)}") from None


class AppDatabaseCheck(Check):
    """The Django database answers `SELECT 1` on a fresh connection."""

    name = "app_database"
    critical = True
    component_type = "datastore"

    def probe(self) -> None:
        connection = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DjangoDatabaseError as exc:
            raise CheckError(f"{type(exc).__name__}: {first_line(exc)}") from None
        finally:
            connection.close()


class HttpCheck(Check):
    """A check that GETs one URL of an upstream HTTP service."""

    def get(self, url: str) -> bytes:
        seconds = self.timeout_seconds
        with http_session(connect_timeout=seconds, read_timeout=seconds, retries=0) as session:
            try:
                return fetch(session, self.name, "GET", url, limit=PROBE_BODY_LIMIT)[1]
            except UpstreamError as exc:
                raise upstream_check_error(exc) from None


class ElectrsCheck(HttpCheck):
    """electrs answers its tip height as an integer."""

    name = "electrs"

    def probe(self) -> None:
        body = self.get(f"{settings.ELECTRS_URL}/blocks/tip/height").strip()
        if not body.isdigit():
            raise CheckError(
                f"electrs: /blocks/tip/height: expected a block height, got {len(body)} bytes "
                "of something else"
            )


class MempoolBackendCheck(HttpCheck):
    """The mempool backend answers its price list with a numeric USD price."""

    name = "mempool_backend"

    def probe(self) -> None:
        body = self.get(f"{settings.MEMPOOL_URL}/api/v1/prices")
        where = "mempool_backend: /api/v1/prices"
        try:
            prices = json.loads(body)
        except ValueError:
            raise CheckError(f"{where}: the answer is not JSON") from None
        usd = prices.get("USD") if isinstance(prices, dict) else None
        if not is_number(usd):
            raise CheckError(f"{where}: the answer has no numeric USD price")


class ChannelLayerCheck(Check):
    """Redis, the channel layer between web processes, answers PING (when REDIS_URL is set)."""

    name = "channel_layer"
    component_type = "datastore"

    def enabled(self) -> bool:
        return bool(settings.REDIS_URL)

    async def probe(self) -> None:
        # run() cancels the ping at the timeout; the client then closes its connection.
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        try:
            await client.ping()
        except redis.RedisError as exc:
            raise CheckError(f"channel_layer: {type(exc).__name__}: {first_line(exc)}") from None
        finally:
            await client.aclose()


class BitcoinRpcCheck(Check):
    """Bitcoin Core answers `getblockcount` (when BITCOIN_RPC_URL is configured)."""

    name = "bitcoin_rpc"

    def enabled(self) -> bool:
        return settings.BITCOIN_RPC_CONFIGURED

    def probe(self) -> None:
        seconds = self.timeout_seconds
        request = {"jsonrpc": "1.0", "id": "health", "method": "getblockcount", "params": []}
        with http_session(connect_timeout=seconds, read_timeout=seconds, retries=0) as session:
            try:
                response, body = fetch(
                    session,
                    self.name,
                    "POST",
                    settings.BITCOIN_RPC_URL,
                    json=request,
                    auth=rpc_credentials(),
                    ok_statuses=(200, 500),
                    limit=PROBE_BODY_LIMIT,
                )
            except UpstreamError as exc:
                if exc.reason in ("HTTP 401", "HTTP 403"):
                    raise CheckError(f"{exc} (check the RPC credentials)") from None
                raise upstream_check_error(exc) from None
        try:
            reply = json.loads(body)
        except ValueError:
            raise CheckError(f"bitcoin_rpc: HTTP {response.status_code}, not JSON") from None
        reply = reply if isinstance(reply, dict) else {}
        failure = reply.get("error")
        if isinstance(failure, dict):
            code, message = failure.get("code"), str(failure.get("message"))[:200]
            raise CheckError(f"bitcoin_rpc: getblockcount: RPC error {code}: {message}")
        if response.status_code != 200 or not isinstance(reply.get("result"), int):
            raise CheckError("bitcoin_rpc: getblockcount: no block count in the answer")


def rpc_credentials() -> tuple[str, str] | None:
    """(user, password) from the cookie file, else from BITCOIN_RPC_USER/PASSWORD, else None."""
    cookie = settings.BITCOIN_RPC_COOKIE_FILE
    if cookie is not None:
        try:
            user, _, password = cookie.read_text().strip().partition(":")
        except OSError as exc:
            raise CheckError(
                f"bitcoin_rpc: cannot read BITCOIN_RPC_COOKIE_FILE ({type(exc).__name__})"
            ) from None
        return user, password
    if settings.BITCOIN_RPC_USER and settings.BITCOIN_RPC_PASSWORD:
        return settings.BITCOIN_RPC_USER, settings.BITCOIN_RPC_PASSWORD
    return None


def upstream_check_error(exc: UpstreamError) -> CheckError:
    """The check failure for a failed upstream call: a timeout stays a timeout."""
    return CheckTimeout(str(exc)) if exc.reason == "timed out" else CheckError(str(exc))


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def register_builtin_checks() -> None:
    """Register the checks that ship with the health app (called once at start)."""
    for check in (
        PriceStoreCheck(),
        AppDatabaseCheck(),
        ElectrsCheck(),
        MempoolBackendCheck(),
        ChannelLayerCheck(),
        BitcoinRpcCheck(),
    ):
        register(check)
