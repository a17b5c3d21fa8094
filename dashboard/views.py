"""The operator dashboard page: staff with the view permissions of what it shows."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from alerts.routing import WEBSOCKET_PATH
from dashboard.selectors import dashboard as dashboard_data

# Prices, the check history and the whale alerts, each readable elsewhere with its own permission.
PERMISSIONS = ("prices.view_priceseries", "health.view_checksample", "alerts.view_whalealert")


@staff_member_required
@permission_required(PERMISSIONS, raise_exception=True)
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
