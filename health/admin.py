"""Admin for the check history: the filtered sample list and the Service history page."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone

from core.admin import ReadOnlyAdmin
from health.base import registered_checks
from health.charts import timeline_chart
from health.history import TIMELINE_WINDOWS, check_overviews, timeline_buckets
from health.models import CheckSample

DEFAULT_WINDOW = "24h"


@admin.register(CheckSample)
class CheckSampleAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only list of samples, filterable by check, status and date."""

    list_display = ("checked", "check_name", "status", "latency_ms", "error")
    list_filter = ("check_name", "status", ("checked_at", admin.DateFieldListFilter))
    date_hierarchy = "checked_at"
    ordering = ("-checked_at",)
    list_per_page = 100
    show_full_result_count = False
    change_list_template = "admin/health/checksample/change_list.html"

    @admin.display(description="checked at (UTC)", ordering="checked_at")
    def checked(self, sample: CheckSample) -> str:
        return f"{sample.checked_at:%Y-%m-%d %H:%M:%S}"

    def get_urls(self) -> list[URLPattern]:
        service_history = path(
            "service-history/",
            self.admin_site.admin_view(self.service_history_view),
            name="health_service_history",
        )
        return [service_history, *super().get_urls()]

    def service_history_view(self, request: HttpRequest) -> TemplateResponse:
        """Per check: current status, last success, uptime, latency and a timeline chart."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        window = request.GET.get("window", DEFAULT_WINDOW)
        if window not in TIMELINE_WINDOWS:
            window = DEFAULT_WINDOW
        span, _, bucket_span = TIMELINE_WINDOWS[window]
        now = timezone.now()
        overviews = check_overviews([check.name for check in registered_checks()], now)
        rows = [
            (
                overview,
                timeline_chart(
                    timeline_buckets(overview.name, window, now),
                    now - span,
                    now,
                    bucket_span,
                ),
            )
            for overview in overviews
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Service history",
            "opts": self.model._meta,
            "rows": rows,
            "window": window,
            "windows": list(TIMELINE_WINDOWS),
        }
        return TemplateResponse(request, "admin/health/service_history.html", context)
