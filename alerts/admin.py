"""Admin pages: whale alerts, subscriber tokens (shown once when created; revoke) and feed status."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from alerts import tokens
from alerts.checks import feed_health
from alerts.detector import SATS_PER_BTC
from alerts.models import AlertToken, FeedStatus, WhaleAlert
from core.admin import ReadOnlyAdmin

BTC_RANGES = [
    ("0-500", "below 500 BTC", 0, 500),
    ("500-1000", "500 to 1,000 BTC", 500, 1_000),
    ("1000-5000", "1,000 to 5,000 BTC", 1_000, 5_000),
    ("5000-", "5,000 BTC or more", 5_000, None),
]


class BtcRangeFilter(admin.SimpleListFilter):
    title = "total value"
    parameter_name = "btc"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, label, _, _ in BTC_RANGES]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        for key, _, low, high in BTC_RANGES:
            if self.value() == key:
                queryset = queryset.filter(value_sats__gte=low * SATS_PER_BTC)
                if high is not None:
                    queryset = queryset.filter(value_sats__lt=high * SATS_PER_BTC)
        return queryset


@admin.register(WhaleAlert)
class WhaleAlertAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = (
        "id",
        "txid",
        "btc",
        "usd_value",
        "usd_source",
        "fee_rate",
        "effective_fee_rate",
        "rbf",
        "expected_confirmation",
        "status",
        "block_height",
        "first_seen",
    )
    list_filter = (("created_at", admin.DateFieldListFilter), BtcRangeFilter, "rbf", "status")
    search_fields = ("=txid",)
    date_hierarchy = "created_at"
    list_per_page = 100

    @admin.display(description="BTC", ordering="value_sats")
    def btc(self, alert: WhaleAlert) -> str:
        return f"{alert.btc_value:,.8f}".rstrip("0").rstrip(".")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        return super().get_search_results(request, queryset, search_term.strip().lower())

    has_delete_permission = admin.ModelAdmin.has_delete_permission  # an operator may delete one


class NewTokenForm(forms.ModelForm):
    expires_in_days = forms.FloatField(
        required=False, min_value=0.001, max_value=36_500, help_text="empty: never expires"
    )

    class Meta:
        model = AlertToken
        fields = ("name",)


@admin.register(AlertToken)
class AlertTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "active",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_tokens"]

    @admin.display(boolean=True)
    def active(self, token: AlertToken) -> bool:
        return token.is_active()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = NewTokenForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["name", "expires_in_days"]
        return ["name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: AlertToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        days = form.cleaned_data.get("expires_in_days")
        request._new_alert_token = tokens.issue(obj, expires_in_days=days)  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: AlertToken, post_url_continue=None
    ) -> HttpResponse:
        """Show the new token once, instead of the usual redirect."""
        context = {
            **self.admin_site.each_context(request),
            "title": "Token created",
            "token": obj,
            "secret": request._new_alert_token,  # type: ignore[attr-defined]
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/alerts/token_created.html", context)

    @admin.action(description="Revoke the selected tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)


@admin.register(FeedStatus)
class FeedStatusAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "connected",
        "health",
        "last_message_at",
        "processed",
        "whales",
        "parse_errors",
        "reconnects",
        "resyncs",
        "last_error",
        "updated_at",
    )
    list_display_links = None

    @admin.display(description="health")
    def health(self, status: FeedStatus) -> str:
        state, error = feed_health(status, timezone.now())
        return state if error is None else f"{state}: {error}"
