"""The REST API's query parameters and response bodies for `/api/whales*` (no HTTP here).

Paging `/api/whales`: without a cursor the newest matches come first; `before_id=N` continues
below alert N (newest first) and `since_id=N` reads forward from N (oldest first, the order a
client catching up wants). A cursor replaces the default 24-hour window (an explicit `hours`
still applies). The two cursors exclude each other: one page runs in one direction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from alerts.events import alert_data
from alerts.models import AlertStatus, WhaleAlert
from core.api import BadParameters, Params, iso

MAX_HOURS = 24 * 366
MAX_LIMIT = 1000
MAX_BTC = 21_000_000
MAX_ID = 999_999_999_999
FORMATS = ("json", "csv")
CSV_FIELDS = (
    "id",
    "txid",
    "btc_value",
    "usd_value",
    "usd_source",
    "fee",
    "vsize",
    "fee_rate",
    "effective_fee_rate",
    "rbf",
    "urgency",
    "expected_confirmation",
    "input_count",
    "output_count",
    "largest_output_btc",
    "first_seen",
    "status",
    "replaced_by",
    "confirmed_at",
    "block_height",
    "created_at",
)
_TXID = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class WhaleQuery:
    hours: float = 24.0
    min_btc: float | None = None
    rbf_only: bool = False
    status: str | None = None
    limit: int = 100
    since_id: int | None = None
    before_id: int | None = None
    output: str = "json"
    windowed: bool = True  # False when a cursor alone bounds the page (no explicit `hours`)

    def since(self, now: datetime) -> datetime | None:
        return now - timedelta(hours=self.hours) if self.windowed else None


def whale_query(query: Mapping[str, str], *, summary: bool = False) -> WhaleQuery:
    """Read `hours`, and unless for the summary `min_btc`, `rbf_only`, `status`, `limit`, the
    cursors `since_id` / `before_id` and `format`."""
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
        since_id=params.integer("since_id", None, 0, MAX_ID),
        before_id=params.integer("before_id", None, 1, MAX_ID),
        output=params.choice("format", "json", FORMATS),
        windowed="hours" in params or not ({"since_id", "before_id"} & set(params.query)),
    )
    if "since_id" in params and "before_id" in params:
        params.problem("before_id", "cannot be given with since_id: page one way at a time")
    params.check()
    return found


def check_txid(txid: str) -> str:
    if not _TXID.match(txid):
        raise BadParameters({"txid": "must be 64 hexadecimal digits"})
    return txid.lower()


def alert_resource(row: WhaleAlert) -> dict[str, Any]:
    """One alert as the REST API shows it."""
    return {"id": row.id, **alert_data(row), "created_at": iso(row.created_at)}


def next_link(
    path: str, query: Mapping[str, str], page: list[WhaleAlert], found: WhaleQuery
) -> str:
    """The path and query of the page after `page`: the same parameters with the cursor moved
    past its last alert (`since_id` forward, `before_id` otherwise)."""
    kept = {name: value for name, value in query.items() if name not in ("since_id", "before_id")}
    cursor = "since_id" if found.since_id is not None else "before_id"
    return f"{path}?{urlencode({**kept, cursor: page[-1].id})}"
