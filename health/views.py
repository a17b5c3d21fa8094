"""The health endpoints for monitors: /health, /health/live and /health/ready."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from health.checks import registered_checks
from health.monitor import get_monitor
from health.report import (
    IETF_MEDIA_TYPE,
    ietf_body,
    legacy_body,
    liveness_body,
    readiness_body,
)

FORMATS = ("legacy", "ietf")


def wants_ietf(request: HttpRequest) -> bool | None:
    """True for the IETF shape (?format=ietf or Accept), False for the legacy one, None if unknown."""
    requested = request.GET.get("format")
    if requested is not None:
        return {"ietf": True, "legacy": False}.get(requested.lower())
    preferred = request.get_preferred_type(["application/json", IETF_MEDIA_TYPE])
    return preferred == IETF_MEDIA_TYPE


@never_cache
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


@never_cache
@require_safe
async def live(request: HttpRequest) -> JsonResponse:
    """The process is up; no check, database or upstream is touched."""
    return JsonResponse(liveness_body())


@never_cache
@require_safe
async def ready(request: HttpRequest) -> JsonResponse:
    """The critical checks only; 503 when any of them fails."""
    results = await get_monitor().results(registered_checks(critical_only=True))
    body, status = readiness_body(results)
    return JsonResponse(body, status=status)
