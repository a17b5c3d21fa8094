"""The price API: thin views that read parameters and return the answers of `prices.api`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from core.api import BadParameters, Params, api_view, legacy_store_unavailable, shown
from prices import api, selectors
from prices.store import StoreUnavailable

View = Callable[..., HttpResponse]


def price_view(view: View) -> View:
    """A GET/HEAD JSON endpoint of the series: the shared error body, and the earlier service's
    503 body when the store cannot be read."""

    @api_view()
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except StoreUnavailable as exc:
            return legacy_store_unavailable(str(exc))

    return wrapper


def _date(value: str) -> dt.date:
    """The `{date}` of a path (its shape is checked by the route): 400 when no such day exists."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadParameters(
            {"date": f"must be a date as YYYY-MM-DD (got {shown(value)})"}
        ) from None


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


@price_view
def day(request: HttpRequest, date: str) -> HttpResponse:
    params = Params(request.GET)
    output = params.choice("format", "json", api.FORMATS)
    wanted = _date(date)
    params.check()
    return api.day(wanted, output).response()


@price_view
def cloud(request: HttpRequest, date: str) -> HttpResponse:
    return api.cloud(_date(date)).response()


@price_view
def at(request: HttpRequest) -> HttpResponse:
    params = Params(request.GET)
    output = params.choice("format", "json", api.FORMATS)
    timestamp = api.timestamp_param(params)
    return api.at(timestamp, output).response()


@price_view
def today(request: HttpRequest) -> HttpResponse:
    return api.today(selectors.utc_today()).response()
