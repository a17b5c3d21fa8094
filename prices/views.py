"""The price API: thin views over `prices.selectors`, `prices.params` and `prices.serializers`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from prices import selectors
from prices.openapi import openapi_document
from prices.params import BadParameter, days_param, format_param, period_param
from prices.serializers import comparison_entry, gaps_entry, price_csv, price_entry
from prices.store import StoreUnavailable

View = Callable[[HttpRequest], HttpResponse]


def json_errors(view: View) -> View:
    """Turn a bad parameter into 400 and an unreadable store into 503, both as JSON."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        try:
            return view(request)
        except BadParameter as exc:
            return JsonResponse(
                {
                    "error": f"invalid parameter: {exc.name}",
                    "parameter": exc.name,
                    "detail": exc.detail,
                },
                status=400,
            )
        except StoreUnavailable as exc:
            return JsonResponse({"detail": f"Database connection failed: {exc}"}, status=503)

    return wrapper


@require_safe
@json_errors
def latest(request: HttpRequest) -> HttpResponse:
    record = selectors.latest_day()
    if record is None:
        return JsonResponse(
            {"error": "not_found", "detail": "No prices yet: the series is empty."}, status=404
        )
    return JsonResponse(price_entry(record))


@require_safe
@json_errors
def historical(request: HttpRequest) -> HttpResponse:
    period = period_param(request.GET, selectors.utc_today())
    output = format_param(request.GET)
    records = selectors.days_between(period.first, period.last)
    if output == "csv":
        response = HttpResponse(price_csv(records), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="prices-{period.first}-{period.last}.csv"'
        )
        return response
    return JsonResponse([price_entry(r) for r in records], safe=False)


@require_safe
@json_errors
def comparison(request: HttpRequest) -> HttpResponse:
    days = days_param(request.GET)
    first, last = selectors.complete_days(days)
    return JsonResponse(comparison_entry(selectors.comparison_stats(first, last), days))


@require_safe
@json_errors
def gaps(request: HttpRequest) -> HttpResponse:
    days = days_param(request.GET)
    first, last = selectors.complete_days(days)
    return JsonResponse(gaps_entry(selectors.series_days(first, last), days))


@require_safe
def openapi_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(openapi_document())


@require_safe
def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "prices/api_docs.html")
