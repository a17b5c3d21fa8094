"""The health endpoints for monitors: /health (cacheable for its cache window), /health/live and
/health/ready (never cached)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.cache import patch_vary_headers

from core.api import BadParameters, api_view, shown
from core.caching import cache_control
from health.base import registered_checks
from health.monitor import get_monitor
from health.report import (
    IETF_MEDIA_TYPE,
    ietf_body,
    legacy_body,
    liveness_body,
    readiness_body,
)

FORMATS = ("legacy", "ietf")
AsyncView = Callable[[HttpRequest], Awaitable[JsonResponse]]


def fresh_for_cache_window(view: AsyncView) -> AsyncView:
    """`Cache-Control: public, max-age=HEALTH_CACHE_SECONDS` (`no-store` when the cache is off):
    a cache may reuse the answer as long as the service reuses its check results. The body
    changes with each request (its timestamp and uptime), so it has no validators. `Vary:
    Accept`: the Accept header can choose the IETF shape."""

    @wraps(view)
    async def wrapper(request: HttpRequest) -> JsonResponse:
        response = await view(request)
        response["Cache-Control"] = cache_control(settings.HEALTH_CACHE_SECONDS)
        patch_vary_headers(response, ["Accept"])
        return response

    return wrapper


def no_store(view: AsyncView) -> AsyncView:
    """Mark the view's responses `Cache-Control: no-store`: health is never served from a cache."""

    @wraps(view)
    async def wrapper(request: HttpRequest) -> JsonResponse:
        response = await view(request)
        response["Cache-Control"] = "no-store"
        return response

    return wrapper


def wants_ietf(request: HttpRequest) -> bool:
    """True for the IETF shape (?format=ietf or Accept), False for the legacy one."""
    requested = request.GET.get("format") if request.META.get("QUERY_STRING") else None
    if requested is not None:
        if requested.lower() not in FORMATS:
            choices = ", ".join(FORMATS)
            raise BadParameters({"format": f"must be one of {choices} (got {shown(requested)})"})
        return requested.lower() == "ietf"
    if IETF_MEDIA_TYPE not in request.META.get("HTTP_ACCEPT", "").lower():
        return False  # the common case, without parsing the header
    preferred = request.get_preferred_type(["application/json", IETF_MEDIA_TYPE])
    return preferred == IETF_MEDIA_TYPE


@fresh_for_cache_window
@api_view()
async def health(request: HttpRequest) -> JsonResponse:
    """Every check, the missing price days and the overall status; 503 when unhealthy."""
    ietf = wants_ietf(request)
    report = await get_monitor().report()
    if ietf:
        return JsonResponse(
            ietf_body(report), status=report.http_status, content_type=IETF_MEDIA_TYPE
        )
    return JsonResponse(legacy_body(report), status=report.http_status)


@no_store
@api_view()
async def live(request: HttpRequest) -> JsonResponse:
    """The process is up; no check, database or upstream is touched."""
    return JsonResponse(liveness_body())


@no_store
@api_view()
async def ready(request: HttpRequest) -> JsonResponse:
    """The critical checks only; 503 when any of them fails."""
    results = await get_monitor().results(registered_checks(critical_only=True))
    body, status = readiness_body(results)
    return JsonResponse(body, status=status)
