"""Parse and check the query parameters of the price API; a bad one raises BadParameter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.http import QueryDict

MAX_DAYS = 3650
DEFAULT_DAYS = 7
FORMATS = ("json", "csv")
_INTEGER = re.compile(r"^[0-9]{1,9}$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class BadParameter(ValueError):
    """A query parameter has a value the API cannot use."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(detail)
        self.name = name
        self.detail = detail


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def days_param(query: QueryDict, default: int = DEFAULT_DAYS) -> int:
    """`days`: an integer from 1 to MAX_DAYS, `default` when absent."""
    value = query.get("days")
    if value is None:
        return default
    if not _INTEGER.match(value) or not 1 <= int(value) <= MAX_DAYS:
        raise BadParameter(
            "days", f"days must be an integer from 1 to {MAX_DAYS} (got {_shown(value)})"
        )
    return int(value)


def date_param(query: QueryDict, name: str) -> date | None:
    """A YYYY-MM-DD date, None when absent."""
    value = query.get(name)
    if value is None:
        return None
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise BadParameter(
            name, f"{name} must be a date as YYYY-MM-DD (got {_shown(value)})"
        ) from None


def format_param(query: QueryDict) -> str:
    """`format`: json (default) or csv."""
    value = query.get("format", "json")
    if value not in FORMATS:
        raise BadParameter("format", f"format must be json or csv (got {_shown(value)})")
    return value


@dataclass(frozen=True)
class Period:
    """An inclusive range of days asked for."""

    first: date
    last: date


def period_param(query: QueryDict, today: date) -> Period:
    """`days=N` (the N complete days before today) or `start=…&end=…` (inclusive, ≤ MAX_DAYS)."""
    start, end = date_param(query, "start"), date_param(query, "end")
    if start is None and end is None:
        days = days_param(query)
        return Period(today - timedelta(days=days), today - timedelta(days=1))
    if "days" in query:
        raise BadParameter("days", "give either days or start and end, not both")
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise BadParameter(missing, "start and end go together: give both")
    if end < start:
        raise BadParameter("end", f"end ({end}) is before start ({start})")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadParameter("end", f"start to end spans more than {MAX_DAYS} days")
    return Period(start, end)
