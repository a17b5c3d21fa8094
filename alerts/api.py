"""The REST API's query parameters and response bodies for `/api/whales*` (no HTTP here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alerts.events import alert_data
from alerts.models import AlertStatus, WhaleAlert
from core.api import BadParameters, Params, iso

MAX_HOURS = 24 * 366
MAX_LIMIT = 1000
MAX_BTC = 21_000_000
_TXID = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class WhaleQuery:
    hours: float = 24.0
    min_btc: float | None = None
    rbf_only: bool = False
    status: str | None = None
    limit: int = 100

    def since(self, now: datetime) -> datetime:
        return now - timedelta(hours=self.hours)


def whale_query(query: Mapping[str, str], *, summary: bool = False) -> WhaleQuery:
    """Read `hours`, and unless for the summary `min_btc`, `rbf_only`, `status`, `limit`."""
    params = Params(query)
    defaults = WhaleQuery()
    hours = params.number("hours", defaults.hours, 0, MAX_HOURS, above_minimum=True)
    if summary:
        params.check()
        return WhaleQuery(hours=hours)
    found = WhaleQuery(
        hours=hours,
        min_btc=params.number("min_btc", None, 0, MAX_BTC),
        rbf_only=params.boolean("rbf_only", defaults.rbf_only),
        status=params.choice("status", None, AlertStatus.values),
        limit=params.integer("limit", defaults.limit, 1, MAX_LIMIT),
    )
    params.check()
    return found


def check_txid(txid: str) -> str:
    if not _TXID.match(txid):
        raise BadParameters({"txid": "must be 64 hexadecimal digits"})
    return txid.lower()


def alert_resource(row: WhaleAlert) -> dict[str, Any]:
    """One alert as the REST API shows it."""
    return {"id": row.id, **alert_data(row), "created_at": iso(row.created_at)}
