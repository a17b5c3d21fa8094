"""The price API: its query parameters and its answers, rendered once per published snapshot.

A snapshot never changes, so an answer computed from it stays right until the next one is
published; `prices.store.per_snapshot` keeps it until then. The key holds everything the answer
depends on, including the dates a `days=N` window resolves to (so a new UTC day gets new answers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.http import HttpResponse

from core.api import Params, not_found
from prices import selectors
from prices.serializers import comparison_entry, gaps_entry, price_csv
from prices.store import per_snapshot

JSON = "application/json"
CSV = "text/csv; charset=utf-8"
MAX_DAYS = 3650
DEFAULT_DAYS = 7
FORMATS = ("json", "csv")


@dataclass(frozen=True)
class Period:
    """An inclusive range of days asked for."""

    first: date
    last: date


def days_param(params: Params) -> int:
    """`days`: how many complete days before today, 1 to MAX_DAYS (default DEFAULT_DAYS)."""
    return params.integer("days", DEFAULT_DAYS, 1, MAX_DAYS)


def period_param(params: Params, today: date) -> Period:
    """`days=N` (the N complete days before today) or `start=…&end=…` (inclusive, ≤ MAX_DAYS)."""
    start, end = params.date("start"), params.date("end")
    if "start" not in params and "end" not in params:
        days = days_param(params)
        return Period(today - timedelta(days=days), today - timedelta(days=1))
    if "days" in params:
        params.problem("days", "cannot be given with start and end: give one or the other")
    elif "start" not in params or "end" not in params:
        missing = "start" if "start" not in params else "end"
        params.problem(missing, "must be given with the other: start and end go together")
    elif start is not None and end is not None:
        if end < start:
            params.problem("end", f"must not be before start ({start})")
        elif (end - start).days + 1 > MAX_DAYS:
            params.problem("end", f"must be at most {MAX_DAYS} days after start")
    params.check()
    assert start is not None and end is not None
    return Period(start, end)


@dataclass(frozen=True)
class Answer:
    """A rendered answer: status, body and media type (plus a download name for files)."""

    status: int
    body: bytes
    content_type: str = JSON
    filename: str | None = None

    def response(self) -> HttpResponse:
        response = HttpResponse(self.body, status=self.status, content_type=self.content_type)
        if self.filename:
            response["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        return response


def _json(payload: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(payload).encode())


def latest() -> Answer:
    """The most recent day, or 404 on an empty series."""

    def render() -> Answer:
        entry = selectors.latest_price_entry()
        if entry is None:
            error = not_found("No prices yet: the series is empty.")
            return _json(error.body(), error.status)
        return _json(entry)

    return per_snapshot(("latest",), render)


def historical(period: Period, output: str) -> Answer:
    """The stored days of a period, as JSON or CSV."""

    def render() -> Answer:
        if output == "csv":
            rows = selectors.price_entries(period.first, period.last)
            name = f"prices-{period.first}-{period.last}.csv"
            return Answer(200, price_csv(rows).encode(), CSV, name)
        return Answer(200, selectors.price_entries_json(period.first, period.last).encode())

    return per_snapshot(("historical", period, output), render)


def comparison(days: int, first: date, last: date) -> Answer:
    """Difference statistics over a window."""
    return per_snapshot(
        ("comparison", days, first, last),
        lambda: _json(comparison_entry(selectors.comparison_stats(first, last), days)),
    )


def gaps(days: int, first: date, last: date) -> Answer:
    """The days of a window without a valid price."""
    return per_snapshot(
        ("gaps", days, first, last),
        lambda: _json(gaps_entry(selectors.series_days(first, last), days)),
    )
