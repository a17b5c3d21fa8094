"""Admin pages of the prices app: the price series (calendar, chart, day detail, backfill of the
missing days) and the list of backfill requests. The series pages need the view permission of
the price series, queueing a backfill the add permission of backfill requests."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from core.admin import ReadOnlyAdmin
from prices.models import BackfillRequest, PriceSeries
from prices.overview import OVERVIEW_DAYS, day_detail, series_overview
from prices.store import StoreUnavailable

ACTIVE = (BackfillRequest.Status.QUEUED, BackfillRequest.Status.RUNNING)
RECENT_REQUESTS = 5


@admin.register(PriceSeries)
class PriceSeriesAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """The price series pages; the series itself lives in DuckDB."""

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("", view(self.changelist_view), name=f"{name}_changelist"),
            path("backfill/", view(require_POST(self.backfill_view)), name=f"{name}_backfill"),
            path("<str:day>/", view(self.day_view), name=f"{name}_day"),
        ]

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        requests = list(BackfillRequest.objects.all()[:RECENT_REQUESTS])
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "requests": requests,
            "refresh": any(r.status in ACTIVE for r in requests),
            "can_backfill": request.user.has_perm("prices.add_backfillrequest"),
            **extra,
        }

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            overview, error = series_overview(), None
        except StoreUnavailable as exc:
            overview, error = None, str(exc)
        context = self._context(
            request,
            "Price series",
            overview=overview,
            store_error=error,
            days=OVERVIEW_DAYS,
            health_gap_days=settings.HEALTH_GAP_DAYS,
        )
        return TemplateResponse(request, "admin/prices/series.html", context)

    def day_view(self, request: HttpRequest, day: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            wanted = date.fromisoformat(day)
        except ValueError:
            raise Http404("not a date") from None
        try:
            detail, error = day_detail(wanted), None
        except StoreUnavailable as exc:
            detail, error = None, str(exc)
        context = self._context(request, f"Price of {wanted}", detail=detail, store_error=error)
        return TemplateResponse(request, "admin/prices/day.html", context)

    def backfill_view(self, request: HttpRequest) -> HttpResponse:
        """Queue the missing days of the overview (or the one day posted, recomputed even when
        valid with `force=1`) for the worker."""
        if not request.user.has_perm("prices.add_backfillrequest"):
            raise PermissionDenied
        target = reverse("admin:prices_priceseries_changelist")
        force = request.POST.get("force") == "1"
        if request.POST.get("day"):
            try:
                first = last = date.fromisoformat(request.POST["day"])
            except ValueError:
                raise Http404("not a date") from None
        else:
            try:
                missing = series_overview().missing
            except StoreUnavailable as exc:
                messages.error(request, f"The price store cannot be read: {exc}")
                return HttpResponseRedirect(target)
            if not missing:
                messages.info(request, f"No day of the last {OVERVIEW_DAYS} is missing.")
                return HttpResponseRedirect(target)
            first, last = missing[0], missing[-1]
        if BackfillRequest.objects.filter(date_from=first, date_to=last, status__in=ACTIVE):
            messages.info(request, f"A backfill of {first}..{last} is queued already.")
        else:
            from prices.backfills import queue_backfill  # the engine loads only when needed

            queue_backfill(first, last, force=force, user=request.user)
            messages.success(request, f"Queued a backfill of {first}..{last}.")
        return HttpResponseRedirect(target)


@admin.register(BackfillRequest)
class BackfillRequestAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """The backfill requests and their progress, read-only."""

    list_display = (
        "id",
        "date_from",
        "date_to",
        "force",
        "status",
        "percent_done",
        "current_date",
        "requested_by",
        "created_at",
        "finished_at",
    )
    list_filter = ("status",)
    readonly_fields = [f.name for f in BackfillRequest._meta.fields]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser
