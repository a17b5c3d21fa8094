"""The price API: thin views that read parameters and return the answers of `prices.api`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from core.api import Params, api_view, legacy_store_unavailable
from prices import api, selectors
from prices.store import StoreUnavailable

View = Callable[[HttpRequest], HttpResponse]


def price_view(view: View) -> View:
    """A GET/HEAD JSON endpoint of the series: the shared error body, and the earlier service's
    503 body when the store cannot be read."""

    @api_view()
    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        try:
            return view(request)
        except StoreUnavailable as exc:
            return legacy_store_unavailable(str(exc))

    return wrapper


@price_view
def latest(request: HttpRequest) -> HttpResponse:
    return api.latest().response()


@price_view
def historical(request: HttpRequest) -> HttpResponse:
    params = Params(request.GET)
    period = api.period_param(params, selectors.utc_today())
    output = params.choice("format", "json", api.FORMATS)
    params.check()
    return api.historical(period, output).response()


@price_view
def comparison(request: HttpRequest) -> HttpResponse:
    params = Params(request.GET)
    days = api.days_param(params)
    params.check()
    return api.comparison(days, *selectors.complete_days(days)).response()


@price_view
def gaps(request: HttpRequest) -> HttpResponse:
    params = Params(request.GET)
    days = api.days_param(params)
    params.check()
    return api.gaps(days, *selectors.complete_days(days)).response()
