"""The REST API's query parameters and response bodies for `/api/whales*` (no HTTP here)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alerts.events import alert_data, iso
from alerts.models import AlertStatus, WhaleAlert

MAX_HOURS = 24 * 366
MAX_LIMIT = 1000
_TXID = re.compile(r"^[0-9a-fA-F]{64}$")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class BadParameters(ValueError):
    """Some query parameters are invalid; `problems` maps each name to what it must be."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(f"invalid parameter(s): {', '.join(problems)}")
        self.problems = problems


@dataclass(frozen=True)
class WhaleQuery:
    hours: float = 24.0
    min_btc: float | None = None
    rbf_only: bool = False
    status: str | None = None
    limit: int = 100

    def since(self, now: datetime) -> datetime:
        return now - timedelta(hours=self.hours)


def whale_query(params: Mapping[str, str], *, summary: bool = False) -> WhaleQuery:
    """Read `hours`, and unless for the summary `min_btc`, `rbf_only`, `status`, `limit`."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    _read(params, "hours", problems, values, _hours)
    if not summary:
        _read(params, "min_btc", problems, values, _min_btc)
        _read(params, "rbf_only", problems, values, _boolean)
        _read(params, "status", problems, values, _status)
        _read(params, "limit", problems, values, _limit)
    if problems:
        raise BadParameters(problems)
    return WhaleQuery(**values)


def check_txid(txid: str) -> str:
    if not _TXID.match(txid):
        raise BadParameters({"txid": "must be 64 hexadecimal digits"})
    return txid.lower()


def alert_resource(row: WhaleAlert) -> dict[str, Any]:
    """One alert as the REST API shows it."""
    return {"id": row.id, **alert_data(row), "created_at": iso(row.created_at)}


def _read(params, name, problems, values, parse) -> None:
    raw = params.get(name)
    if raw is None or raw == "":
        return
    try:
        values[name] = parse(raw)
    except ValueError as exc:
        problems[name] = str(exc)


def _number(raw: str, low: float, high: float, low_inclusive: bool, what: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(what) from None
    if (
        not math.isfinite(value)
        or value > high
        or value < low
        or (value == low and not low_inclusive)
    ):
        raise ValueError(what)
    return value


def _hours(raw: str) -> float:
    return _number(raw, 0, MAX_HOURS, False, f"must be a number above 0 and at most {MAX_HOURS}")


def _min_btc(raw: str) -> float:
    return _number(raw, 0, 21_000_000, True, "must be a number from 0 to 21000000")


def _boolean(raw: str) -> bool:
    if raw.lower() not in _BOOLEANS:
        raise ValueError("must be true or false")
    return _BOOLEANS[raw.lower()]


def _status(raw: str) -> str:
    if raw not in AlertStatus.values:
        raise ValueError(f"must be one of {', '.join(AlertStatus.values)}")
    return raw


def _limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValueError(f"must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)
