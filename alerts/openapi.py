"""The alerts app's part of the OpenAPI 3.1 document (merged by `prices.openapi`): `PATHS` for
`/api/whales*` and the live page, `SCHEMAS` and `TAGS`.

The REST endpoints take `Authorization: Bearer <subscriber token>`; the document's components
have no security schemes yet, so that is said in each operation's description.
"""

from __future__ import annotations

from typing import Any

_REF = "#/components/schemas/"
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_TIME = {"type": "string", "format": "date-time"}


def _param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _json(ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF + ref}}},
    }


_HOURS = _param(
    "hours",
    {"type": "number", "exclusiveMinimum": 0, "maximum": 8784, "default": 24},
    "look back this many hours (by storage time)",
)
_AUTH = (
    " Requires `Authorization: Bearer <token>` (a subscriber token from the admin or"
    " `manage.py create_alert_token`)."
)
_ERRORS = {
    "400": _json("AlertsError", "invalid parameters; `parameters` names each one"),
    "401": _json("AlertsError", "missing, malformed, unknown, expired or revoked token"),
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
            "summary": "Recent whale alerts, newest first",
            "description": "Alerts stored in the last `hours`, filtered." + _AUTH,
            "operationId": "listWhales",
            "tags": ["alerts"],
            "parameters": [
                _HOURS,
                _param("min_btc", {"type": "number", "minimum": 0}, "at least this total output"),
                _param(
                    "rbf_only", {"type": "boolean", "default": False}, "only BIP-125 signalling"
                ),
                _param(
                    "status",
                    {"type": "string", "enum": ["pending", "replaced", "confirmed"]},
                    "only alerts in this status",
                ),
                _param(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                    "at most this many results",
                ),
            ],
            "responses": {"200": _json("WhaleAlertList", "matching alerts"), **_ERRORS},
        }
    },
    "/api/whales/summary": {
        "get": {
            "summary": "Totals of the whale alerts of the last hours",
            "description": "Count, total BTC, average fee rate, RBF count, by status." + _AUTH,
            "operationId": "summariseWhales",
            "tags": ["alerts"],
            "parameters": [_HOURS],
            "responses": {"200": _json("WhaleSummary", "the summary"), **_ERRORS},
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
                "200": _json("WhaleAlert", "the alert"),
                "404": _json("AlertsError", "no alert for that txid"),
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
            "usd_value": _NUMBER_OR_NULL,
            "fee": {"type": "integer", "description": "satoshis"},
            "vsize": {"type": "integer", "description": "virtual bytes"},
            "fee_rate": {"type": "number", "description": "sat/vB"},
            "rbf": {"type": "boolean", "description": "signals BIP-125 replaceability"},
            "urgency": {**_NUMBER_OR_NULL, "minimum": 0, "maximum": 1},
            "expected_confirmation": {
                "type": ["string", "null"],
                "enum": ["next_block", "within_3", "within_6", "later", None],
            },
            "input_count": {"type": "integer"},
            "output_count": {"type": "integer"},
            "largest_output_btc": {"type": "number"},
            "first_seen": _TIME,
            "status": {"type": "string", "enum": ["pending", "replaced", "confirmed"]},
            "replaced_by": {"type": ["string", "null"]},
            "confirmed_at": {"type": ["string", "null"], "format": "date-time"},
            "created_at": _TIME,
        },
    },
    "WhaleAlertList": {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "description": "all matches (results are limited)"},
            "results": {"type": "array", "items": {"$ref": _REF + "WhaleAlert"}},
        },
    },
    "WhaleSummary": {
        "type": "object",
        "properties": {
            "hours": {"type": "number"},
            "count": {"type": "integer"},
            "total_btc": {"type": "number"},
            "avg_fee_rate": _NUMBER_OR_NULL,
            "rbf_count": {"type": "integer"},
            "by_status": {
                "type": "object",
                "properties": {
                    "pending": {"type": "integer"},
                    "replaced": {"type": "integer"},
                    "confirmed": {"type": "integer"},
                },
            },
        },
    },
    "AlertsError": {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "parameters": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
}
