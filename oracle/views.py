"""The service index and the operator dashboard."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from alerts.routing import WEBSOCKET_PATH
from oracle.dashboard import dashboard as dashboard_data


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


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Prices, health and the live whale feed on one page, for staff."""
    context = {
        **admin.site.each_context(request),
        "title": "Operator dashboard",
        "is_nav_sidebar_enabled": False,  # the page needs the width
        "board": dashboard_data(),
        "websocket_path": WEBSOCKET_PATH,
    }
    return render(request, "admin/dashboard.html", context)
