"""HTTP correlation IDs: take a sane X-Correlation-ID (or X-Request-ID), else make one, and echo it.

The ID is bound to the logging context before the request-logging middleware (django-structlog's,
run on the event loop) starts, so every log line of the request carries it; the request line gains
method, path, status and duration_ms through django-structlog's signals.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from asgiref.sync import markcoroutinefunction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django_structlog import signals
from django_structlog.middlewares import RequestMiddleware

from core.logging import CORRELATION_HEADER, new_correlation_id, sane_correlation_id
from core.metrics import observe_request
from core.redaction import redact_query_string


def correlation_id_for(request: HttpRequest) -> str:
    """The request's sane X-Correlation-ID, else its sane X-Request-ID, else a new UUID4."""
    return (
        sane_correlation_id(request.headers.get("X-Correlation-ID"))
        or sane_correlation_id(request.headers.get("X-Request-ID"))
        or new_correlation_id()
    )


class AsyncMiddleware:
    """Base of the project's middleware: async only, so Django never hands it to a thread."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)


class CorrelationIdMiddleware(AsyncMiddleware):
    """Outermost middleware: assigns the correlation ID and echoes it on every response."""

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        cid = correlation_id_for(request)
        structlog.contextvars.bind_contextvars(correlation_id=cid)
        request.correlation_id = cid  # type: ignore[attr-defined]
        request.started_at = time.perf_counter()  # type: ignore[attr-defined]
        response = await self.get_response(request)
        observe_request(request, response, time.perf_counter() - request.started_at)
        response[CORRELATION_HEADER] = cid
        return response


class RequestLogMiddleware(RequestMiddleware):
    """django-structlog's request logging, run on the event loop instead of in a thread.

    The stock middleware hands both of its hooks to a thread because it may load the user from
    the session; here the user is never loaded for logging (DJANGO_STRUCTLOG_USER_ID_FIELD is
    off) and `user_id` is bound only when the request already resolved its user.
    """

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self.prepare(request)
        response = await self.get_response(request)
        user = getattr(request, "_cached_user", None)
        if user is not None:
            structlog.contextvars.bind_contextvars(user_id=user.pk)
        self.handle_response(request, response)
        return response

    @classmethod
    def bind_ip(cls, request: HttpRequest) -> None:
        """Log REMOTE_ADDR, which core.proxies resolved, not what forwarding headers claim."""
        structlog.contextvars.bind_contextvars(ip=request.META.get("REMOTE_ADDR"))


class MachineEndpointMiddleware(AsyncMiddleware):
    """For the machine stack: the host check and the security headers of the full stack."""

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        request.get_host()  # DisallowedHost (400) unless the Host is in ALLOWED_HOSTS
        response = await self.get_response(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def _request_fields(request: HttpRequest) -> dict[str, Any]:
    query = redact_query_string(request.META.get("QUERY_STRING", ""))
    return {
        "request": f"{request.method} {request.path}{'?' + query if query else ''}",
        "method": request.method,
        "path": request.path,
    }


def _duration_ms(request: HttpRequest) -> float | None:
    started = getattr(request, "started_at", None)
    return None if started is None else round((time.perf_counter() - started) * 1000, 3)


@receiver(signals.bind_extra_request_metadata)
def _add_request_started_fields(request: HttpRequest, log_kwargs: dict, **_: Any) -> None:
    log_kwargs.update(_request_fields(request))


@receiver(signals.bind_extra_request_finished_metadata)
def _add_request_finished_fields(
    request: HttpRequest, response: HttpResponse, log_kwargs: dict, **_: Any
) -> None:
    log_kwargs.update(_request_fields(request))
    log_kwargs.update(status=response.status_code, duration_ms=_duration_ms(request))


@receiver(signals.bind_extra_request_failed_metadata)
def _add_request_failed_fields(request: HttpRequest, log_kwargs: dict, **_: Any) -> None:
    log_kwargs.update(_request_fields(request))
    log_kwargs.update(status=500, duration_ms=_duration_ms(request))
