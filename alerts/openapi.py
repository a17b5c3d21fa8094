"""The alerts app's part of the OpenAPI document (merged by `core.openapi`): `/api/whales*` and
the live page, their schemas and tag.

The REST endpoints take `Authorization: Bearer <subscriber token>`; the document's components
have no security schemes yet, so that is said in each operation's description.
"""

from __future__ import annotations

from typing import Any

from alerts.api import FORMATS, MAX_BTC, MAX_HOURS, MAX_ID, MAX_LIMIT
from alerts.models import AlertStatus
from core.openapi import NUMBER_OR_NULL, TIME, TIME_OR_NULL, body, error, query, ref

STATUSES = list(AlertStatus.values)
_HOURS = query(
    "hours",
    {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_HOURS, "default": 24},
    "look back this many hours (by storage time)",
)
_AUTH = (
    " Requires `Authorization: Bearer <token>` (a subscriber token from the admin or"
    " `manage.py create_alert_token`)."
)
_ERRORS = {
    "400": error("invalid parameters; `parameters` names each one"),
    "401": error("missing, malformed, unknown, expired or revoked token"),
}

PATHS: dict[str, Any] = {
    "/alerts/live": {
        "get": {
            "summary": "Live whale alerts page (HTML, staff login)",
            "description": "Shows the feed of the `/ws/alerts/` WebSocket with filters.",
            "operationId": "liveWhalesPage",
            "tags": ["alerts"],
            "responses": {
                "200": {"description": "the page", "content": {"text/html": {}}},
                "302": {"description": "to the admin login when not logged in as staff"},
            },
        }
    },
    "/api/whales": {
        "get": {
            "summary": "Whale alerts, newest first, a page at a time",
            "description": (
                "Alerts stored in the last `hours`, filtered, newest first. While more match,"
                ' `next` (and a `Link: <…>; rel="next"` header) gives the path and query of'
                " the next page. `before_id` continues below an id (newest first); `since_id`"
                " reads forward from an id (oldest first). With a cursor and no `hours`, no time"
                " window applies. `format=csv` returns the page as CSV (with the `Link` header)."
                + _AUTH
            ),
            "operationId": "listWhales",
            "tags": ["alerts"],
            "parameters": [
                _HOURS,
                query(
                    "min_btc",
                    {"type": "number", "minimum": 0, "maximum": MAX_BTC},
                    "at least this total output (at most the 21 million BTC there can be)",
                ),
                query("rbf_only", {"type": "boolean", "default": False}, "only BIP-125 signalling"),
                query(
                    "status",
                    {"type": "string", "enum": STATUSES},
                    "only alerts in this status",
                ),
                query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
                    "at most this many results",
                ),
                query(
                    "since_id",
                    {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                    "only alerts with a higher id, oldest first (not with before_id)",
                ),
                query(
                    "before_id",
                    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                    "only alerts with a lower id, newest first (not with since_id)",
                ),
                query("format", {"enum": list(FORMATS), "default": "json"}, "Output format."),
            ],
            "responses": {
                "200": {
                    "description": "a page of matching alerts",
                    "headers": {
                        "Link": {
                            "description": 'the next page, `<PATH?QUERY>; rel="next"`',
                            "schema": {"type": "string"},
                        }
                    },
                    "content": {
                        "application/json": {"schema": ref("WhaleAlertList")},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **_ERRORS,
            },
        }
    },
    "/api/whales/summary": {
        "get": {
            "summary": "Totals of the whale alerts of the last hours",
            "description": "Count, total BTC, average fee rate, RBF count, by status." + _AUTH,
            "operationId": "summariseWhales",
            "tags": ["alerts"],
            "parameters": [_HOURS],
            "responses": {"200": body(ref("WhaleSummary"), "the summary"), **_ERRORS},
        }
    },
    "/api/whales/{txid}": {
        "get": {
            "summary": "One whale alert by transaction id",
            "description": "The stored alert with its current status." + _AUTH,
            "operationId": "getWhale",
            "tags": ["alerts"],
            "parameters": [
                {
                    "name": "txid",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                }
            ],
            "responses": {
                "200": body(ref("WhaleAlert"), "the alert"),
                "404": error("no alert for that txid"),
                **_ERRORS,
            },
        }
    },
}

TAGS = [{"name": "alerts", "description": "Whale alerts: stored large mempool transactions."}]

SCHEMAS: dict[str, Any] = {
    "WhaleAlert": {
        "type": "object",
        "required": ["id", "txid", "btc_value", "fee", "vsize", "fee_rate", "rbf", "status"],
        "properties": {
            "id": {"type": "integer", "description": "increasing; use as since_id"},
            "txid": {"type": "string"},
            "btc_value": {"type": "number", "description": "total output value"},
            "usd_value": NUMBER_OR_NULL,
            "usd_source": {
                "enum": ["exchange", "onchain", None],
                "description": (
                    "the price usd_value is at: the mempool backend's exchange price, or the"
                    " oracle's own on-chain price (today's provisional price, else the latest"
                    " valid day) when the backend has none; null without usd_value"
                ),
            },
            "fee": {"type": "integer", "description": "satoshis"},
            "vsize": {"type": "integer", "description": "virtual bytes"},
            "fee_rate": {"type": "number", "description": "sat/vB"},
            "effective_fee_rate": {
                **NUMBER_OR_NULL,
                "description": "sat/vB with ancestors and descendants (CPFP); drives urgency",
            },
            "rbf": {
                "type": "boolean",
                "description": (
                    "signals BIP-125 replaceability; Bitcoin Core replaces any unconfirmed"
                    " transaction by default (full RBF), signalling or not"
                ),
            },
            "urgency": {**NUMBER_OR_NULL, "minimum": 0, "maximum": 1},
            "expected_confirmation": {
                "type": ["string", "null"],
                "enum": ["next_block", "within_3", "within_6", "later", None],
            },
            "input_count": {"type": "integer"},
            "output_count": {"type": "integer"},
            "largest_output_btc": {"type": "number"},
            "first_seen": TIME,
            "status": {"type": "string", "enum": STATUSES},
            "replaced_by": {"type": ["string", "null"]},
            "confirmed_at": {**TIME_OR_NULL, "description": "the block's time"},
            "block_height": {"type": ["integer", "null"], "description": "when confirmed"},
            "created_at": TIME,
        },
    },
    "WhaleAlertList": {
        "type": "object",
        "properties": {
            "count": {
                "type": "integer",
                "description": "all matches from the cursor on (results are one page)",
            },
            "results": {"type": "array", "items": ref("WhaleAlert")},
            "next": {
                "type": ["string", "null"],
                "description": "path and query of the next page; null when no more match",
            },
        },
    },
    "WhaleSummary": {
        "type": "object",
        "properties": {
            "hours": {"type": "number"},
            "count": {"type": "integer"},
            "total_btc": {"type": "number"},
            "avg_fee_rate": NUMBER_OR_NULL,
            "rbf_count": {"type": "integer"},
            "by_status": {
                "type": "object",
                "properties": {status: {"type": "integer"} for status in STATUSES},
            },
        },
    },
}
