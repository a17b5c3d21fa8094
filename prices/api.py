"""The price API: its query parameters and its answers, rendered once per published snapshot.

A snapshot never changes, so an answer computed from it stays right until the next one is
published; `prices.store.per_snapshot_async` keeps it until then (a request for a kept answer
costs no thread and no query). The key holds everything the answer depends on, including the
dates a `days=N` window resolves to (so a new UTC day gets new answers). Each success carries its
validators and freshness (`prices.caching`), applied per request by `core.caching`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.api import Params, not_found
from core.caching import Validators, cache_control, conditional
from prices import caching, selectors
from prices.serializers import (
    AT_FIELDS,
    BLOCK_FIELDS,
    at_entry,
    block_entry,
    cloud_entry,
    comparison_entry,
    day_entry,
    gaps_entry,
    price_csv,
    provisional_entry,
    table_csv,
)
from prices.store import per_snapshot, per_snapshot_async

JSON = "application/json"
CSV = "text/csv; charset=utf-8"
MAX_DAYS = 3650
DEFAULT_DAYS = 7
FORMATS = ("json", "csv")
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31 23:59:59 UTC


@dataclass(frozen=True)
class Period:
    """An inclusive range of days asked for; `window_of` is the day a `days=N` window was
    counted back from (None for explicit dates)."""

    first: date
    last: date
    window_of: date | None = None


def days_param(params: Params) -> int:
    """`days`: how many complete days before today, 1 to MAX_DAYS (default DEFAULT_DAYS)."""
    return params.integer("days", DEFAULT_DAYS, 1, MAX_DAYS)


def period_param(params: Params, today: date) -> Period:
    """`days=N` (the N complete days before today) or `start=…&end=…` (inclusive, ≤ MAX_DAYS)."""
    start, end = params.date("start"), params.date("end")
    if "start" not in params and "end" not in params:
        days = days_param(params)
        return Period(today - timedelta(days=days), today - timedelta(days=1), today)
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


def timestamp_param(params: Params) -> int:
    """`timestamp`: a moment as unix seconds (required)."""
    if "timestamp" not in params:
        params.problem("timestamp", "must be given: a moment as unix seconds")
    value = params.integer("timestamp", 0, 0, MAX_TIMESTAMP)
    params.check()
    return value


@dataclass(frozen=True)
class Answer:
    """A rendered answer: status, body and media type (plus a download name for files), and for
    a success its validators and until when it is fresh (None: it changes with each block)."""

    status: int
    body: bytes
    content_type: str = JSON
    filename: str | None = None
    validators: Validators | None = None
    fresh_until: datetime | None = None

    def response(self, request: HttpRequest) -> HttpResponse:
        """The HTTP response to `request`: 304 when its cached copy is still this answer."""
        response = HttpResponse(self.body, status=self.status, content_type=self.content_type)
        if self.filename:
            response["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        if self.validators is None:
            return response
        age = caching.max_age(self.fresh_until, datetime.now(UTC))
        return conditional(request, response, self.validators, cache_control(age))


async def _kept(
    key: Hashable,
    render: Callable[[], Answer],
    *,
    window_of: date | None = None,
    per_block: bool = False,
) -> Answer:
    """`render()`'s answer, computed once per snapshot, with its validators and freshness;
    `window_of` as in `prices.caching.validators`; `per_block` for an answer that changes with
    each block."""

    def compute() -> Answer:
        answer = render()
        if answer.status != 200:
            return answer
        state = per_snapshot(("series_state",), selectors.series_state)
        found = caching.validators(state, answer.content_type, answer.body, window_of)
        fresh_until = None if per_block else caching.next_day_due(state.latest, datetime.now(UTC))
        return replace(answer, validators=found, fresh_until=fresh_until)

    return await per_snapshot_async(key, compute)


def _json(payload: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(payload).encode())


def _not_found(detail: str) -> Answer:
    error = not_found(detail)
    return _json(error.body(), error.status)


async def latest() -> Answer:
    """The most recent day, or 404 on an empty series."""

    def render() -> Answer:
        entry = selectors.latest_price_entry()
        if entry is None:
            return _not_found("No prices yet: the series is empty.")
        return _json(entry)

    return await _kept(("latest",), render)


async def historical(period: Period, output: str) -> Answer:
    """The stored days of a period, as JSON or CSV."""

    def render() -> Answer:
        if output == "csv":
            rows = selectors.price_entries(period.first, period.last)
            name = f"prices-{period.first}-{period.last}.csv"
            return Answer(200, price_csv(rows).encode(), CSV, name)
        return Answer(200, selectors.price_entries_json(period.first, period.last).encode())

    return await _kept(("historical", period, output), render, window_of=period.window_of)


async def comparison(days: int, first: date, last: date) -> Answer:
    """Difference statistics over a window."""
    return await _kept(
        ("comparison", days, first, last),
        lambda: _json(comparison_entry(selectors.comparison_stats(first, last), days)),
        window_of=last + timedelta(days=1),
    )


async def gaps(days: int, first: date, last: date) -> Answer:
    """The days of a window without a valid price."""
    return await _kept(
        ("gaps", days, first, last),
        lambda: _json(gaps_entry(selectors.series_days(first, last), days)),
        window_of=last + timedelta(days=1),
    )


async def day(wanted: date, output: str) -> Answer:
    """A stored day with its blocks (JSON), or its blocks alone (CSV); 404 when not stored."""

    def render() -> Answer:
        entry = selectors.price_entry(wanted)
        if entry is None:
            return _not_found(f"No price is stored for {wanted}.")
        blocks = selectors.blocks_of_day(wanted)
        if output == "csv":
            rows = [block_entry(block).values() for block in blocks]
            return Answer(200, table_csv(BLOCK_FIELDS, rows).encode(), CSV, f"blocks-{wanted}.csv")
        return _json(day_entry(entry, blocks, selectors.has_cloud(wanted)))

    return await _kept(("day", wanted, output), render)


async def cloud(wanted: date) -> Answer:
    """A stored day's price cloud; 404 when the day is not stored or has none."""

    def render() -> Answer:
        record = selectors.day_record(wanted)
        if record is None:
            return _not_found(f"No price is stored for {wanted}.")
        found = selectors.cloud_of_day(wanted)
        if found is None:
            return _not_found(
                f"{wanted} was computed before price clouds were kept: recompute it"
                f" (backfill_prices --from {wanted} --to {wanted} --force) to get one."
            )
        return _json(cloud_entry(found, record.utxoracle_price))

    return await _kept(("cloud", wanted), render)


async def at(timestamp: int, output: str) -> Answer:
    """The block in force at a moment, with its price; 404 when its day is not stored."""

    def render() -> Answer:
        moment = datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)
        found = selectors.block_in_force(moment)
        if found is None:
            return _not_found(
                f"No stored block with a price at or before {moment:%Y-%m-%d %H:%M:%S} UTC on"
                f" {moment.date()}: that day is not in the series (the day in progress is at"
                " /api/prices/today)."
            )
        entry = at_entry(timestamp, found)
        if output == "csv":
            csv_text = table_csv(AT_FIELDS, [[entry[field] for field in AT_FIELDS]])
            return Answer(200, csv_text.encode(), CSV, f"price-at-{timestamp}.csv")
        return _json(entry)

    return await _kept(("at", timestamp, output), render)


async def today(current: date) -> Answer:
    """The provisional price of the UTC day in progress; 404 until it has enough blocks."""

    def render() -> Answer:
        record = selectors.provisional_record()
        if record is None or record.date != current:
            return _not_found(
                f"Today's price is not formed yet: no block of {current} has been seen (the"
                " worker computes it)."
            )
        if record.price is None:
            return _not_found(
                f"Today's price is not formed yet: {record.block_count} block(s) of {current} so"
                f" far; it is shown from {settings.PRICE_TODAY_MIN_BLOCKS}."
            )
        return _json(provisional_entry(record))

    return await _kept(("today", current), render, window_of=current, per_block=True)
