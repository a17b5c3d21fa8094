"""What every JSON endpoint shares: one error body, one reader of query parameters, one `iso()`.

Errors. Every JSON endpoint answers an error with `{"error": code, "detail": sentence, ...}`:
`error` is a short machine-readable code (`invalid_parameter`, `not_found`, `unauthorized`,
`method_not_allowed`, …) and `detail` a sentence for people. A bad query adds `parameters`, an
object naming each bad parameter with what it must be. Every error body also carries the
request's `correlation_id`: the detail a body leaves out (no internal path, host or port is
shown) is in the logs under that ID. A view raises `ApiError` (or `BadParameters`) and
`api_view` turns it into that body.

The one legacy shape: the price endpoints answer an unreadable store with
`{"detail": "Database connection failed: …"}` and 503, as the earlier price service did
(`legacy_store_unavailable`); clients of that service depend on it. Its reason is logged, and the
body says only that the price store is unavailable, with the correlation ID.

Parameters. `Params` reads a query string and collects every problem instead of stopping at the
first, so one 400 names them all. An empty value (`?hours=`) is a bad value, not an absent one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from functools import wraps
from inspect import iscoroutinefunction
from typing import Any, TypeVar

import structlog
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.logging import current_correlation_id

SAFE_METHODS = ("GET", "HEAD")
_INTEGER = re.compile(r"^[0-9]{1,12}$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
SHOWN_CHARS = 40
T = TypeVar("T")
log = structlog.get_logger(__name__)


class ApiError(Exception):
    """An answer other than success: the HTTP status, a code and a sentence (plus extra fields)."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, Any]:
        cid = current_correlation_id()
        return {"error": self.code, "detail": self.detail, **self.extra, "correlation_id": cid}

    def response(self) -> JsonResponse:
        return JsonResponse(self.body(), status=self.status)


class BadParameters(ApiError):
    """Some query parameters are invalid; `problems` maps each name to what it must be."""

    def __init__(self, problems: dict[str, str]) -> None:
        detail = "; ".join(f"{name} {problem}" for name, problem in problems.items())
        super().__init__(400, "invalid_parameter", detail, parameters=problems)
        self.problems = problems


def not_found(detail: str) -> ApiError:
    return ApiError(404, "not_found", detail)


def legacy_store_unavailable(reason: str) -> JsonResponse:
    """The earlier price service's 503 body, kept for its clients; the reason (which names files)
    goes to the log only (see the module docstring)."""
    log.warning("price_store_unavailable", reason=reason)
    detail = f"price store unavailable (correlation ID {current_correlation_id()})"
    return JsonResponse({"detail": f"Database connection failed: {detail}"}, status=503)


def method_not_allowed(method: str, allowed: Iterable[str]) -> JsonResponse:
    allowed = tuple(allowed)
    response = ApiError(
        405, "method_not_allowed", f"{method} is not allowed here (allowed: {', '.join(allowed)})"
    ).response()
    response["Allow"] = ", ".join(allowed)
    return response


View = Callable[..., HttpResponse]
AsyncView = Callable[..., Awaitable[HttpResponse]]


def api_view(methods: tuple[str, ...] = SAFE_METHODS) -> Callable[[Any], Any]:
    """Allow only `methods` (405 with the error body otherwise) and turn `ApiError` into its body.

    Works on plain and `async` views alike.
    """

    def decorate(view: Any) -> Any:
        if iscoroutinefunction(view):

            @wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                if request.method not in methods:
                    return method_not_allowed(request.method or "?", methods)
                try:
                    return await view(request, *args, **kwargs)
                except ApiError as exc:
                    return exc.response()

            return async_wrapper

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if request.method not in methods:
                return method_not_allowed(request.method or "?", methods)
            try:
                return view(request, *args, **kwargs)
            except ApiError as exc:
                return exc.response()

        return wrapper

    return decorate


def shown(value: str) -> str:
    """A value as an error message quotes it: repr, cut to a readable length."""
    return repr(value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…")


class Params:
    """Typed reads of query parameters; problems are collected, `check()` raises them together.

    Each reader returns the default when the parameter is absent and records a problem (and
    returns the default) when its value is bad.
    """

    def __init__(self, query: Mapping[str, str]) -> None:
        self.query = query
        self.problems: dict[str, str] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.query

    def _read(self, name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
        raw = self.query.get(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError:
            self.problems[name] = f"must be {expected} (got {shown(raw)})"
            return default

    def integer(self, name: str, default: T, minimum: int, maximum: int) -> int | T:
        def parse(raw: str) -> int:
            if not _INTEGER.match(raw) or not minimum <= int(raw) <= maximum:
                raise ValueError
            return int(raw)

        return self._read(name, default, parse, f"an integer from {minimum} to {maximum}")

    def number(
        self, name: str, default: T, minimum: float, maximum: float, *, above_minimum: bool = False
    ) -> float | T:
        """A finite number in [minimum, maximum] (or (minimum, maximum] with above_minimum)."""

        def parse(raw: str) -> float:
            value = float(raw)
            too_low = value <= minimum if above_minimum else value < minimum
            if not math.isfinite(value) or too_low or value > maximum:
                raise ValueError
            return value

        low = "above" if above_minimum else "from"
        return self._read(name, default, parse, f"a number {low} {minimum:g} to {maximum:g}")

    def boolean(self, name: str, default: bool) -> bool:
        def parse(raw: str) -> bool:
            if raw.lower() not in _BOOLEANS:
                raise ValueError
            return _BOOLEANS[raw.lower()]

        return self._read(name, default, parse, "true or false")

    def choice(self, name: str, default: T, choices: Iterable[str]) -> str | T:
        choices = tuple(choices)

        def parse(raw: str) -> str:
            if raw not in choices:
                raise ValueError
            return raw

        return self._read(name, default, parse, f"one of {', '.join(choices)}")

    def date(self, name: str) -> date | None:
        def parse(raw: str) -> date:
            if not _ISO_DATE.match(raw):
                raise ValueError
            return date.fromisoformat(raw)

        return self._read(name, None, parse, "a date as YYYY-MM-DD")

    def problem(self, name: str, problem: str) -> None:
        """Record a problem found by the caller (e.g. parameters that exclude each other)."""
        self.problems.setdefault(name, problem)

    def check(self) -> None:
        """Raise BadParameters when any parameter was bad."""
        if self.problems:
            raise BadParameters(self.problems)


def iso(moment: datetime | None) -> str | None:
    """A moment as ISO 8601 in UTC with milliseconds and a Z (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
