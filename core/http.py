"""The shared outbound HTTP client: every call to an upstream goes through `http_session()`.

A session has connect/read timeouts by default, retries idempotent requests (GET/HEAD) a bounded
number of times on connection errors and 502/503/504 with a short backoff, sends a User-Agent and
the current correlation ID as `X-Correlation-ID`. `fetch` also bounds a whole call by a deadline:
an answer that trickles in (a byte now and then, each within the read timeout) — its headers as
well as its body — is cut off once the deadline passes: a timer shuts the call's connection down
(the session's connections register with the call they serve). Errors become `UpstreamError`,
whose message names the service, the URL path (never credentials) and the reason.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError, ReadTimeoutError
from urllib3.util.retry import Retry

from core import __version__
from core.logging import CORRELATION_HEADER, current_correlation_id
from core.redaction import redact_url

USER_AGENT = f"oracle/{__version__} (+self-hosted Bitcoin price oracle)"
DEFAULT_BODY_LIMIT = 8 * 1024 * 1024
RETRY_STATUSES = (502, 503, 504)
DEFAULT_DEADLINE = 120.0
READ_CHUNK = 65536
ENVIRONMENT_CACHE_SIZE = 64  # origins whose proxy settings a session keeps
LATE = "the answer did not arrive in time (overall deadline)"
_current = threading.local()  # the _Deadline of the call this thread is making


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """Timeouts, retries and the overall deadline of a client's calls (None: the settings)."""

    connect_timeout: float | None = None
    read_timeout: float | None = None
    retries: int | None = None
    deadline: float | None = None


class UpstreamError(Exception):
    """A call to an upstream service failed; the message is safe to log and to show."""

    def __init__(self, service: str, url: str, reason: str) -> None:
        self.service = service
        self.path = _path_of(url)
        self.reason = reason
        where = "" if self.path == "/" else f"{self.path}: "
        super().__init__(f"{service}: {where}{reason}")


def _path_of(url: str) -> str:
    return requests.utils.urlparse(redact_url(url)).path or "/"


class _Deadline:
    """The overall deadline of one call: when it passes, the connection serving the call is shut
    down, which ends any read in progress."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._connection: Any = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _current.deadline = None

    def serve(self, connection: Any) -> None:
        """The call now uses this connection (shut at once if the deadline has passed)."""
        with self._lock:
            self._connection = connection
            if self.expired:
                _shut(connection)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            _shut(self._connection)


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # closed already
            sock.shutdown(socket.SHUT_RDWR)


class _Watched:
    """A connection that registers with the deadline of the call in progress."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._serve()

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._serve()
        super().request(*args, **kwargs)  # type: ignore[misc]

    def _serve(self) -> None:
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.serve(self)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _TimeoutAdapter(HTTPAdapter):
    """An adapter that applies a default (connect, read) timeout to every request, through
    connections that obey the deadline of `fetch`."""

    def __init__(self, timeout: tuple[float, float], **kwargs: Any) -> None:
        self.timeout = timeout
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {  # type: ignore[assignment]
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class CorrelatedSession(requests.Session):
    """A requests Session that forwards the current correlation ID upstream and reads the proxy
    variables of the environment once per origin (requests reads them on every call: half a
    millisecond with a large environment, on each of a day's hundreds of block fetches)."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        parts = requests.utils.urlparse(url)
        given = tuple(sorted((proxies or {}).items()))
        key = (parts.scheme, parts.netloc, given, stream, verify, cert)
        merged = self._environment.get(key)
        if merged is None:
            if len(self._environment) >= ENVIRONMENT_CACHE_SIZE:
                self._environment.clear()
            merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = merged
        return {**merged, "proxies": dict(merged["proxies"])}

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        cid = current_correlation_id()
        if cid:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault(CORRELATION_HEADER, cid)
            kwargs["headers"] = headers
        return super().request(method, url, *args, **kwargs)


def http_session(
    *,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    retries: int | None = None,
    backoff: float = 0.2,
    pool_size: int = 10,
) -> CorrelatedSession:
    """A new session configured from settings (HTTP_CONNECT_TIMEOUT, HTTP_READ_TIMEOUT, HTTP_RETRIES)."""
    from django.conf import settings

    timeout = (
        connect_timeout if connect_timeout is not None else settings.HTTP_CONNECT_TIMEOUT,
        read_timeout if read_timeout is not None else settings.HTTP_READ_TIMEOUT,
    )
    total = settings.HTTP_RETRIES if retries is None else retries
    retry = Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff,
        backoff_max=2.0,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    session = CorrelatedSession()
    session.headers["User-Agent"] = USER_AGENT
    adapter = _TimeoutAdapter(
        timeout, max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def read_capped(
    response: requests.Response, limit: int = DEFAULT_BODY_LIMIT, deadline: float | None = None
) -> bytes:
    """Read a (streamed) response body, refusing one larger than `limit` bytes or one still
    arriving at `deadline` (a `time.monotonic()` value)."""
    declared = response.headers.get("Content-Length")
    length = int(declared) if declared and declared.isdigit() else None
    if length is not None and length > limit:
        raise ValueError(f"response body of {length} bytes exceeds the {limit}-byte limit")
    raw = response.raw
    if length is not None and "Content-Encoding" not in response.headers:
        # One read of the declared length (a raw block is megabytes); the deadline's timer shuts
        # a body that trickles.
        body = raw.read(length)
        if len(body) != length:
            raise ValueError(f"response body ended after {len(body)} of {length} bytes")
        return body
    chunks: list[bytes] = []
    size = 0
    while chunk := raw.read1(READ_CHUNK, decode_content=True):
        size += len(chunk)
        if size > limit:
            response.close()
            raise ValueError(f"response body exceeds the {limit}-byte limit")
        if deadline is not None and time.monotonic() > deadline:
            response.close()
            raise ValueError(LATE)
        chunks.append(chunk)
    return b"".join(chunks)


def default_deadline() -> float:
    """HTTP_DEADLINE from the settings when Django is configured, else DEFAULT_DEADLINE."""
    from django.conf import settings

    return (
        getattr(settings, "HTTP_DEADLINE", DEFAULT_DEADLINE)
        if settings.configured
        else DEFAULT_DEADLINE
    )


def fetch(
    session: requests.Session,
    service: str,
    method: str,
    url: str,
    *,
    limit: int = DEFAULT_BODY_LIMIT,
    ok_statuses: tuple[int, ...] = (200,),
    deadline: float | None = DEFAULT_DEADLINE,
    **kwargs: Any,
) -> tuple[requests.Response, bytes]:
    """Make one call and return (response, body); any failure raises UpstreamError.

    `deadline` bounds the whole call in seconds, headers and body (None: only the timeouts).
    """
    if deadline is None:
        return _call(session, service, method, url, limit, ok_statuses, None, kwargs)
    ends = time.monotonic() + deadline
    with _Deadline(deadline) as watch:
        try:
            answer = _call(session, service, method, url, limit, ok_statuses, ends, kwargs)
        except UpstreamError:
            if watch.expired:
                raise UpstreamError(service, url, LATE) from None
            raise
    if watch.expired:  # a connection shut mid-answer can look like a short, complete one
        raise UpstreamError(service, url, LATE)
    return answer


def _call(
    session: requests.Session,
    service: str,
    method: str,
    url: str,
    limit: int,
    ok_statuses: tuple[int, ...],
    ends: float | None,
    kwargs: dict[str, Any],
) -> tuple[requests.Response, bytes]:
    try:
        response = session.request(method, url, stream=True, **kwargs)
    except requests.Timeout:
        raise UpstreamError(service, url, "timed out") from None
    except requests.ConnectionError as exc:
        if _is_timeout(exc):
            raise UpstreamError(service, url, "timed out") from None
        raise UpstreamError(service, url, f"connection failed ({_short(exc)})") from None
    except requests.RequestException as exc:
        raise UpstreamError(service, url, f"request failed ({_short(exc)})") from None
    with response:
        try:
            body = read_capped(response, limit, ends)
        except ValueError as exc:
            raise UpstreamError(service, url, str(exc)) from None
        except (requests.RequestException, HTTPError) as exc:
            raise UpstreamError(service, url, f"reading the body failed ({_short(exc)})") from None
    if response.status_code not in ok_statuses:
        raise UpstreamError(service, url, f"HTTP {response.status_code}")
    return response, body


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception, its urllib3 `reason`s and its context chain (bounded)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 12 and current not in seen:
        seen.append(current)
        reason = getattr(current, "reason", None)
        current = reason if isinstance(reason, BaseException) else current.__context__
    if exc.args and isinstance(exc.args[0], BaseException) and exc.args[0] not in seen:
        seen.extend(_causes(exc.args[0]))
    return seen


def _is_timeout(exc: BaseException) -> bool:
    return any(isinstance(c, TimeoutError | ReadTimeoutError) for c in _causes(exc))


def _short(exc: BaseException) -> str:
    """The root cause's class name and OS message, without URLs that may carry credentials."""
    root = _causes(exc)[-1]
    errno_text = getattr(root, "strerror", None)
    return f"{type(root).__name__}: {errno_text}" if errno_text else type(root).__name__
