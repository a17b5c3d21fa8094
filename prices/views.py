"""The price API: thin views that parse parameters (`core.api`) and return the answers of
`prices.api`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from core.api import BadParameter, days_param, format_param, period_param
from prices import api, selectors
from prices.openapi import openapi_document
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
    return api.latest().response()


@require_safe
@json_errors
def historical(request: HttpRequest) -> HttpResponse:
    period = period_param(request.GET, selectors.utc_today())
    return api.historical(period, format_param(request.GET)).response()


@require_safe
@json_errors
def comparison(request: HttpRequest) -> HttpResponse:
    days = days_param(request.GET)
    return api.comparison(days, *selectors.complete_days(days)).response()


@require_safe
@json_errors
def gaps(request: HttpRequest) -> HttpResponse:
    days = days_param(request.GET)
    return api.gaps(days, *selectors.complete_days(days)).response()


@require_safe
def openapi_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(openapi_document())


@require_safe
def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "core/api_docs.html")
