"""The price API: thin async views that read parameters and return the answers of `prices.api`
(a kept answer is served on the event loop, without a thread)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from core.api import BadParameters, Params, api_view, legacy_store_unavailable, shown
from prices import api, selectors
from prices.store import StoreUnavailable

AnswerView = Callable[..., Awaitable[api.Answer]]
View = Callable[..., Awaitable[HttpResponse]]


def price_view(view: AnswerView) -> View:
    """A GET/HEAD endpoint of the series: its answer with conditional requests and caching
    headers, the shared error body, and the earlier service's 503 body when the store cannot be
    read."""

    @api_view()
    @wraps(view)
    async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            answer = await view(request, *args, **kwargs)
        except StoreUnavailable as exc:
            return legacy_store_unavailable(str(exc))
        return answer.response(request)

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
async def latest(request: HttpRequest) -> api.Answer:
    return await api.latest()


@price_view
async def historical(request: HttpRequest) -> api.Answer:
    params = Params(request.GET)
    period = api.period_param(params, selectors.utc_today())
    output = params.choice("format", "json", api.FORMATS)
    params.check()
    return await api.historical(period, output)


@price_view
async def comparison(request: HttpRequest) -> api.Answer:
    params = Params(request.GET)
    days = api.days_param(params)
    params.check()
    return await api.comparison(days, *selectors.complete_days(days))


@price_view
async def gaps(request: HttpRequest) -> api.Answer:
    params = Params(request.GET)
    days = api.days_param(params)
    params.check()
    return await api.gaps(days, *selectors.complete_days(days))


@price_view
async def day(request: HttpRequest, date: str) -> api.Answer:
    params = Params(request.GET)
    output = params.choice("format", "json", api.FORMATS)
    wanted = _date(date)
    params.check()
    return await api.day(wanted, output)


@price_view
async def cloud(request: HttpRequest, date: str) -> api.Answer:
    return await api.cloud(_date(date))


@price_view
async def at(request: HttpRequest) -> api.Answer:
    params = Params(request.GET)
    output = params.choice("format", "json", api.FORMATS)
    timestamp = api.timestamp_param(params)
    return await api.at(timestamp, output)


@price_view
async def today(request: HttpRequest) -> api.Answer:
    return await api.today(selectors.utc_today())
