"""The operator dashboard page (staff only)."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from alerts.routing import WEBSOCKET_PATH
from dashboard.selectors import dashboard as dashboard_data


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
