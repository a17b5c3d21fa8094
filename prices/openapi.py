"""The prices app's part of the OpenAPI document (merged by `core.openapi`): the price series
endpoints `/api/prices/*` and their schemas."""

from __future__ import annotations

from typing import Any

from core.openapi import DATE, NUMBER_OR_NULL, body, error, query, ref
from prices.api import DEFAULT_DAYS, MAX_DAYS

SCHEMAS: dict[str, Any] = {
    "PriceEntry": {
        "type": "object",
        "description": "One UTC day of the series.",
        "required": [
            "timestamp",
            "utxoracle_price",
            "mempool_price",
            "confidence",
            "tx_count",
            "diff_amount",
            "diff_percent",
            "is_valid",
            "deviation",
            "block_first",
            "block_last",
        ],
        "additionalProperties": False,
        "properties": {
            "timestamp": {"type": "string", "format": "date", "description": "The UTC day."},
            "utxoracle_price": {"type": "number", "description": "On-chain price, USD."},
            "mempool_price": {
                **NUMBER_OR_NULL,
                "description": "Exchange price of that day from the mempool backend, USD.",
            },
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "tx_count": {"type": "integer", "description": "Outputs that went into the price."},
            "diff_amount": {**NUMBER_OR_NULL, "description": "mempool_price - utxoracle_price."},
            "diff_percent": {
                **NUMBER_OR_NULL,
                "description": "diff_amount / utxoracle_price * 100.",
            },
            "is_valid": {"type": "boolean"},
            "deviation": {
                "type": "number",
                "description": "Spread of the price points: 0 tight, 0.25 no cluster.",
            },
            "block_first": {"type": "integer"},
            "block_last": {"type": "integer"},
        },
    },
    "PriceList": {"type": "array", "items": ref("PriceEntry")},
    "ComparisonStats": {
        "type": "object",
        "description": "Differences over the valid days with both prices; counts over all days.",
        "required": [
            "avg_diff",
            "max_diff",
            "min_diff",
            "avg_diff_percent",
            "total_entries",
            "valid_entries",
            "timeframe_days",
        ],
        "additionalProperties": False,
        "properties": {
            "avg_diff": NUMBER_OR_NULL,
            "max_diff": NUMBER_OR_NULL,
            "min_diff": NUMBER_OR_NULL,
            "avg_diff_percent": NUMBER_OR_NULL,
            "total_entries": {"type": "integer", "minimum": 0},
            "valid_entries": {"type": "integer", "minimum": 0},
            "timeframe_days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
        },
    },
    "Gaps": {
        "type": "object",
        "description": "The complete days of the window without a valid row.",
        "required": ["timeframe_days", "first", "last", "gaps_detected", "missing_dates", "gaps"],
        "additionalProperties": False,
        "properties": {
            "timeframe_days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
            "first": {"type": "string", "format": "date"},
            "last": {"type": "string", "format": "date"},
            "gaps_detected": {"type": "integer", "minimum": 0},
            "missing_dates": {"type": "array", "items": {"type": "string", "format": "date"}},
            "gaps": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["date", "status"],
                    "additionalProperties": False,
                    "properties": {
                        "date": {"type": "string", "format": "date"},
                        "status": {"enum": ["missing", "invalid"]},
                    },
                },
            },
        },
    },
    "StoreUnavailable": {
        "type": "object",
        "required": ["detail"],
        "additionalProperties": False,
        "properties": {
            "detail": {"type": "string", "pattern": "^Database connection failed: "},
        },
    },
}

_DAYS = query(
    "days",
    {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": DEFAULT_DAYS},
    "How many complete UTC days before today (for historical: never with start and end).",
)
_BAD_PARAMETER = error("A query parameter is invalid; `parameters` names each bad one.")
_UNAVAILABLE = body(
    ref("StoreUnavailable"), "The price store cannot be read (the earlier service's body)."
)
_PRICES = ["prices"]

PATHS: dict[str, Any] = {
    "/api/prices/latest": {
        "get": {
            "tags": _PRICES,
            "summary": "The most recent stored day",
            "operationId": "latestPrice",
            "responses": {
                "200": body(ref("PriceEntry"), "The latest day, valid or not (see is_valid)."),
                "404": error("No prices yet: the series is empty."),
                "503": _UNAVAILABLE,
            },
        }
    },
    "/api/prices/historical": {
        "get": {
            "tags": _PRICES,
            "summary": "Stored days of a period, oldest first",
            "description": (
                "Either `days` (the N complete UTC days before today, default 7) or `start` and"
                f" `end` (inclusive, at most {MAX_DAYS} days). The two forms exclude each other:"
                " `days` with `start` or `end` is refused (400), `start` and `end` come together,"
                " and `end` must not be before `start`. OpenAPI cannot state these rules between"
                " parameters in their schemas, so a request that follows each schema may still"
                " be refused for them. `format=csv` returns CSV with the same columns."
            ),
            "operationId": "historicalPrices",
            "parameters": [
                _DAYS,
                query("start", DATE, "First day (only with end; never with days)."),
                query(
                    "end",
                    DATE,
                    f"Last day, inclusive (only with start, not before it, at most {MAX_DAYS}"
                    " days after it; never with days).",
                ),
                query("format", {"enum": ["json", "csv"], "default": "json"}, "Output format."),
            ],
            "responses": {
                "200": {
                    "description": "The stored days (missing days are absent).",
                    "content": {
                        "application/json": {"schema": ref("PriceList")},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "400": _BAD_PARAMETER,
                "503": _UNAVAILABLE,
            },
        }
    },
    "/api/prices/comparison": {
        "get": {
            "tags": _PRICES,
            "summary": "On-chain against exchange price statistics",
            "operationId": "priceComparison",
            "parameters": [_DAYS],
            "responses": {
                "200": body(ref("ComparisonStats"), "Statistics over the period."),
                "400": _BAD_PARAMETER,
                "503": _UNAVAILABLE,
            },
        }
    },
    "/api/prices/gaps": {
        "get": {
            "tags": _PRICES,
            "summary": "Complete days without a valid price",
            "operationId": "priceGaps",
            "parameters": [_DAYS],
            "responses": {
                "200": body(ref("Gaps"), "Missing and invalid days, oldest first."),
                "400": _BAD_PARAMETER,
                "503": _UNAVAILABLE,
            },
        }
    },
}

TAGS = [{"name": "prices", "description": "The daily on-chain BTC/USD price series."}]
