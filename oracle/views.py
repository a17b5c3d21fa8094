"""The service index: name, version and entry points, for people and scripts that land on /."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse


def index(request: HttpRequest) -> JsonResponse:
    """Name, version and the main entry points."""
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
