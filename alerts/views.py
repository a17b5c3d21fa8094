"""HTTP views of the alerts app: the `/api/whales*` REST endpoints and the live page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from alerts import store, tokens
from alerts.api import CSV_FIELDS, alert_resource, check_txid, next_link, whale_query
from alerts.models import WhaleAlert
from alerts.routing import WEBSOCKET_PATH
from core.api import ApiError, api_view, not_found
from core.caching import private
from prices.serializers import table_csv

CSV = "text/csv; charset=utf-8"


def bearer_refusal(request: HttpRequest) -> HttpResponse | None:
    """The 401 answer unless the request carries `Authorization: Bearer <active token>`."""
    try:
        tokens.authenticate(tokens.bearer_token(request.headers.get("Authorization")))
    except tokens.TokenRejected as exc:
        response = ApiError(401, "unauthorized", f"token {exc.reason}").response()
        response["WWW-Authenticate"] = 'Bearer realm="whale alerts"'
        return response
    return None


def token_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A GET/HEAD JSON endpoint that answers 401 unless the request carries
    `Authorization: Bearer <active token>`; no cache keeps its answers (`private, no-store`)."""

    @api_view()
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return bearer_refusal(request) or view(request, *args, **kwargs)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return private(checked(request, *args, **kwargs))

    return wrapped


@token_required
def whale_list(request: HttpRequest) -> HttpResponse:
    """One page of matching alerts, as JSON or CSV, with a `next` link (also a `Link` header)
    while more match."""
    query = whale_query(request.GET)
    rows = store.search_alerts(
        since=query.since(timezone.now()),
        min_btc=query.min_btc,
        rbf_only=query.rbf_only,
        status=query.status,
        since_id=query.since_id,
        before_id=query.before_id,
    )
    fetched = list(rows[: query.limit + 1])
    page = fetched[: query.limit]
    more = len(fetched) > query.limit
    link = next_link(request.path, request.GET, page, query) if more else None
    results = [alert_resource(row) for row in page]
    if query.output == "csv":
        table = [[item[field] for field in CSV_FIELDS] for item in results]
        response = HttpResponse(table_csv(CSV_FIELDS, table), content_type=CSV)
        response["Content-Disposition"] = 'attachment; filename="whales.csv"'
    else:
        response = JsonResponse({"count": rows.count(), "results": results, "next": link})
    if link:
        response["Link"] = f'<{link}>; rel="next"'
    return response


@token_required
def whale_detail(request: HttpRequest, txid: str) -> JsonResponse:
    row = WhaleAlert.objects.filter(txid=check_txid(txid)).first()
    if row is None:
        raise not_found("no whale alert for that txid")
    return JsonResponse(alert_resource(row))


@token_required
def whale_summary(request: HttpRequest) -> JsonResponse:
    query = whale_query(request.GET, summary=True)
    return JsonResponse({"hours": query.hours, **store.summary(query.since(timezone.now()))})


@staff_member_required
@permission_required("alerts.view_whalealert", raise_exception=True)
def live_page(request: HttpRequest) -> HttpResponse:
    """The live feed for operators with the view permission of whale alerts, through the same
    WebSocket as other subscribers."""
    context = {
        **admin.site.each_context(request),
        "title": "Live whale alerts",
        "websocket_path": WEBSOCKET_PATH,
    }
    return render(request, "alerts/live.html", context)
