"""The health endpoints for monitors: /health, /health/live and /health/ready."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

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


def no_store(view: AsyncView) -> AsyncView:
    """Mark the view's responses `Cache-Control: no-store`: health is never served from a cache."""

    @wraps(view)
    async def wrapper(request: HttpRequest) -> JsonResponse:
        response = await view(request)
        response["Cache-Control"] = "no-store"
        return response

    return wrapper


def wants_ietf(request: HttpRequest) -> bool | None:
    """True for the IETF shape (?format=ietf or Accept), False for the legacy one, None if unknown."""
    requested = request.GET.get("format") if request.META.get("QUERY_STRING") else None
    if requested is not None:
        return {"ietf": True, "legacy": False}.get(requested.lower())
    if IETF_MEDIA_TYPE not in request.META.get("HTTP_ACCEPT", "").lower():
        return False  # the common case, without parsing the header
    preferred = request.get_preferred_type(["application/json", IETF_MEDIA_TYPE])
    return preferred == IETF_MEDIA_TYPE


@no_store
@require_safe
async def health(request: HttpRequest) -> JsonResponse:
    """Every check, the missing price days and the overall status; 503 when unhealthy."""
    ietf = wants_ietf(request)
    if ietf is None:
        return JsonResponse({"error": f"format must be one of: {', '.join(FORMATS)}"}, status=400)
    report = await get_monitor().report()
    if ietf:
        return JsonResponse(
            ietf_body(report), status=report.http_status, content_type=IETF_MEDIA_TYPE
        )
    return JsonResponse(legacy_body(report), status=report.http_status)


@no_store
@require_safe
async def live(request: HttpRequest) -> JsonResponse:
    """The process is up; no check, database or upstream is touched."""
    return JsonResponse(liveness_body())


@no_store
@require_safe
async def ready(request: HttpRequest) -> JsonResponse:
    """The critical checks only; 503 when any of them fails."""
    results = await get_monitor().results(registered_checks(critical_only=True))
    body, status = readiness_body(results)
    return JsonResponse(body, status=status)
