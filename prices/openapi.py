"""The prices app's part of the OpenAPI document (merged by `core.openapi`): the price series
endpoints `/api/prices/*` and their schemas."""

from __future__ import annotations

from typing import Any

from core.openapi import (
    DATE,
    NUMBER_OR_NULL,
    TIME,
    body,
    cacheable,
    error,
    query,
    ref,
)
from prices.api import DEFAULT_DAYS, MAX_DAYS, MAX_TIMESTAMP

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
    "Block": {
        "type": "object",
        "description": "One block of a day and the median of its price points.",
        "required": ["height", "time", "unix_time", "median_price", "price_points"],
        "additionalProperties": False,
        "properties": {
            "height": {"type": "integer"},
            "time": {**TIME, "description": "The block's timestamp (UTC)."},
            "unix_time": {"type": "integer", "description": "The same, in unix seconds."},
            "median_price": {
                **NUMBER_OR_NULL,
                "description": "Median of the block's price points within the day's final"
                " window (rough price ± 5 %); null when it has none.",
            },
            "price_points": {"type": "integer", "minimum": 0},
        },
    },
    "PriceAt": {
        "type": "object",
        "description": "The latest block with price points stamped at or before the moment.",
        "required": [
            "timestamp",
            "date",
            "height",
            "time",
            "unix_time",
            "median_price",
            "price_points",
            "day_price",
            "is_valid",
        ],
        "additionalProperties": False,
        "properties": {
            "timestamp": {"type": "integer", "description": "The moment asked for."},
            "date": {**DATE, "description": "The UTC day the block belongs to."},
            "height": {"type": "integer"},
            "time": TIME,
            "unix_time": {"type": "integer"},
            "median_price": {"type": "number", "description": "The block's price, USD."},
            "price_points": {"type": "integer", "minimum": 1},
            "day_price": {"type": "number", "description": "The day's on-chain price, USD."},
            "is_valid": {"type": "boolean", "description": "Whether that day is valid."},
        },
    },
    "PriceCloud": {
        "type": "object",
        "description": (
            "Every price point the day's chart shows, as a 2-D histogram: `counts[i][j]` points"
            " in time bin i (from `start`, `seconds_per_bin` each) and price bin j (from"
            " `price_low`, `price_step` each)."
        ),
        "required": [
            "date",
            "price",
            "start",
            "start_unix",
            "seconds_per_bin",
            "time_bins",
            "price_low",
            "price_high",
            "price_step",
            "price_bins",
            "point_count",
            "counts",
        ],
        "additionalProperties": False,
        "properties": {
            "date": DATE,
            "price": {"type": "number", "description": "The day's on-chain price, USD."},
            "start": TIME,
            "start_unix": {"type": "integer"},
            "seconds_per_bin": {"type": "integer", "minimum": 1},
            "time_bins": {"type": "integer", "minimum": 1},
            "price_low": {"type": "number"},
            "price_high": {"type": "number"},
            "price_step": {"type": "number"},
            "price_bins": {"type": "integer", "minimum": 1},
            "point_count": {"type": "integer", "minimum": 0},
            "counts": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            },
        },
    },
    "ProvisionalPrice": {
        "type": "object",
        "description": (
            "The UTC day in progress, priced from its blocks so far by the same algorithm;"
            " replaced by the day's final price once the day is complete, and never part of"
            " the series (historical, comparison, gaps)."
        ),
        "required": [
            "date",
            "provisional",
            "price",
            "block_count",
            "block_first",
            "block_last",
            "last_block_time",
            "output_count",
            "price_point_count",
            "deviation",
            "confidence",
            "is_valid",
            "invalid_reason",
            "source",
            "algorithm",
            "computed_at",
        ],
        "additionalProperties": False,
        "properties": {
            "date": DATE,
            "provisional": {"const": True},
            "price": {"type": "number", "description": "On-chain price so far, USD."},
            "block_count": {"type": "integer", "minimum": 1},
            "block_first": {"type": "integer"},
            "block_last": {"type": "integer"},
            "last_block_time": TIME,
            "output_count": {"type": "integer"},
            "price_point_count": {"type": "integer"},
            "deviation": {"type": "number"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "is_valid": {
                "type": "boolean",
                "description": "The day's validity rules, the output minimum pro rata of the"
                " blocks so far.",
            },
            "invalid_reason": {"type": ["string", "null"]},
            "source": {"type": "string"},
            "algorithm": {"type": "string"},
            "computed_at": TIME,
        },
    },
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

_ENTRY = SCHEMAS["PriceEntry"]
SCHEMAS["PriceDay"] = {
    **_ENTRY,
    "description": "One stored day (the fields of PriceEntry) with its blocks, by height.",
    "required": [*_ENTRY["required"], "has_cloud", "blocks"],
    "properties": {
        **_ENTRY["properties"],
        "has_cloud": {
            "type": "boolean",
            "description": "Whether /api/prices/{date}/cloud has the day's price cloud.",
        },
        "blocks": {"type": "array", "items": ref("Block")},
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

_DATE_PATH = {
    "name": "date",
    "in": "path",
    "required": True,
    "schema": DATE,
    "description": "A UTC day as YYYY-MM-DD (a real date: 2025-02-30 is refused).",
}
_FORMAT = query("format", {"enum": ["json", "csv"], "default": "json"}, "Output format.")


def _json_or_csv(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": schema},
            "text/csv": {"schema": {"type": "string"}},
        },
    }


PATHS.update(
    {
        "/api/prices/today": {
            "get": {
                "tags": _PRICES,
                "summary": "The provisional price of the UTC day in progress",
                "description": (
                    "The worker prices the current UTC day from its blocks so far once it has"
                    " PRICE_TODAY_MIN_BLOCKS of them (default 12), again at each new block, and"
                    " keeps it apart from the series until the day is complete."
                ),
                "operationId": "todayPrice",
                "responses": {
                    "200": body(ref("ProvisionalPrice"), "The day so far."),
                    "404": error("Not formed yet: the detail says how many blocks there are."),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/api/prices/at": {
            "get": {
                "tags": _PRICES,
                "summary": "The on-chain price at a moment",
                "description": (
                    "The latest block with price points stamped at or before `timestamp`, among"
                    " the blocks of its stored UTC day (and the day before, for the first minutes"
                    " of a day), with the median of its price points. `format=csv` gives one row."
                ),
                "operationId": "priceAt",
                "parameters": [
                    {
                        **query(
                            "timestamp",
                            {"type": "integer", "minimum": 0, "maximum": MAX_TIMESTAMP},
                            "The moment, unix seconds.",
                        ),
                        "required": True,
                    },
                    _FORMAT,
                ],
                "responses": {
                    "200": _json_or_csv(ref("PriceAt"), "The block in force and its price."),
                    "400": _BAD_PARAMETER,
                    "404": error("The moment's UTC day is not stored, or has no priced block yet."),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/api/prices/{date}": {
            "get": {
                "tags": _PRICES,
                "summary": "One stored day with its blocks",
                "description": (
                    "The day's entry and each of its blocks: height, time, the median of its"
                    " price points and their number. `format=csv` gives the blocks as CSV."
                ),
                "operationId": "priceDay",
                "parameters": [_DATE_PATH, _FORMAT],
                "responses": {
                    "200": _json_or_csv(ref("PriceDay"), "The day and its blocks."),
                    "400": _BAD_PARAMETER,
                    "404": error("No price is stored for that day."),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/api/prices/{date}/cloud": {
            "get": {
                "tags": _PRICES,
                "summary": "The price cloud of one stored day",
                "description": (
                    "Every output's implied price against time, as the day's chart draws it,"
                    " binned into a 2-D histogram (see PriceCloud). Days computed before clouds"
                    " were kept have none until recomputed."
                ),
                "operationId": "priceCloud",
                "parameters": [_DATE_PATH],
                "responses": {
                    "200": body(ref("PriceCloud"), "The day's price cloud."),
                    "400": _BAD_PARAMETER,
                    "404": error("The day is not stored, or was computed before clouds were kept."),
                    "503": _UNAVAILABLE,
                },
            }
        },
    }
)

_SERIES_FRESHNESS = "until the next day can be stored (its midnight + 6 blocks), from 60 s to 1 h."
for _path, _item in PATHS.items():
    cacheable(
        _item["get"],
        "PRICE_TODAY_POLL_SECONDS, at least 60 s: it changes with each block."
        if _path == "/api/prices/today"
        else _SERIES_FRESHNESS,
    )

TAGS = [{"name": "prices", "description": "The daily on-chain BTC/USD price series."}]
