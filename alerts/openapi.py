"""The OpenAPI 3.1 part for `/api/whales*`: merge `OPENAPI_PATHS` into the document's `paths`
and `OPENAPI_COMPONENTS` into its `components`."""

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
_ERRORS = {
    "400": _json("Error", "invalid parameters; `parameters` names each one"),
    "401": _json("Error", "missing, malformed, unknown, expired or revoked token"),
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/whales": {
        "get": {
            "summary": "Recent whale alerts, newest first",
            "operationId": "listWhales",
            "tags": ["whale alerts"],
            "security": [{"alertToken": []}],
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
            "operationId": "summariseWhales",
            "tags": ["whale alerts"],
            "security": [{"alertToken": []}],
            "parameters": [_HOURS],
            "responses": {"200": _json("WhaleSummary", "the summary"), **_ERRORS},
        }
    },
    "/api/whales/{txid}": {
        "get": {
            "summary": "One whale alert by transaction id",
            "operationId": "getWhale",
            "tags": ["whale alerts"],
            "security": [{"alertToken": []}],
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
                "404": _json("Error", "no alert for that txid"),
                **_ERRORS,
            },
        }
    },
}

OPENAPI_COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "alertToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "a subscriber token (admin or `manage.py create_alert_token`)",
        }
    },
    "schemas": {
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
        "Error": {
            "type": "object",
            "properties": {
                "error": {"type": "string"},
                "detail": {"type": "string"},
                "parameters": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    },
}
