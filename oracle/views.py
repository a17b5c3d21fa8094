"""The service index: what this is and where its endpoints are."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse


def index(request: HttpRequest) -> JsonResponse:
    """Name, version and the main entry points, for people and scripts that land on /."""
    return JsonResponse(
        {
            "service": "oracle",
            "version": settings.VERSION,
            "admin": "/admin/",
            "health": "/health",
            "api_docs": "/api/docs",
            "openapi": "/api/openapi.json",
            "alerts_websocket": "/ws/alerts/",
        }
    )
