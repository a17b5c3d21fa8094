"""The service's OpenAPI 3.1 document, served at /api/openapi.json and rendered by /api/docs.

This module describes the service index, the price API and the health endpoints. Other apps
contribute their endpoints with a fragment: a module named in FRAGMENT_MODULES (e.g.
`alerts/openapi.py`) that defines `PATHS` (OpenAPI path items by path) and may define `SCHEMAS`
(component schemas by name) and `TAGS`. Fragments that exist are merged in; a fragment's path or
schema replaces a built-in one of the same name, so an app can take over its own description.
"""

from __future__ import annotations

import copy
import functools
import importlib
from typing import Any

from django.conf import settings

from core.api import DEFAULT_DAYS, MAX_DAYS

FRAGMENT_MODULES = ("health.openapi", "alerts.openapi")

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_INTEGER_OR_NULL = {"type": ["integer", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


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
                **_NUMBER_OR_NULL,
                "description": "Exchange price of that day from the mempool backend, USD.",
            },
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "tx_count": {"type": "integer", "description": "Outputs that went into the price."},
            "diff_amount": {**_NUMBER_OR_NULL, "description": "mempool_price - utxoracle_price."},
            "diff_percent": {
                **_NUMBER_OR_NULL,
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
    "PriceList": {"type": "array", "items": _ref("PriceEntry")},
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
            "avg_diff": _NUMBER_OR_NULL,
            "max_diff": _NUMBER_OR_NULL,
            "min_diff": _NUMBER_OR_NULL,
            "avg_diff_percent": _NUMBER_OR_NULL,
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
    "BadParameter": {
        "type": "object",
        "required": ["error", "parameter", "detail"],
        "additionalProperties": False,
        "properties": {
            "error": {"type": "string"},
            "parameter": {"type": "string", "description": "The parameter at fault."},
            "detail": {"type": "string"},
        },
    },
    "NotFound": {
        "type": "object",
        "required": ["error", "detail"],
        "additionalProperties": False,
        "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    },
    "StoreUnavailable": {
        "type": "object",
        "required": ["detail"],
        "additionalProperties": False,
        "properties": {
            "detail": {"type": "string", "pattern": "^Database connection failed: "},
        },
    },
    "ServiceIndex": {
        "type": "object",
        "required": ["service", "version"],
        "properties": {
            "service": {"type": "string"},
            "version": {"type": "string"},
            "admin": {"type": "string"},
            "health": {"type": "string"},
            "api_docs": {"type": "string"},
            "openapi": {"type": "string"},
            "alerts_websocket": {"type": "string"},
        },
    },
    "CheckResult": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "description": "ok, error or timeout"},
            "latency_ms": _NUMBER_OR_NULL,
            "error": {"type": ["string", "null"]},
            "last_success": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "timestamp", "checks"],
        "properties": {
            "status": {"enum": ["healthy", "degraded", "unhealthy"]},
            "timestamp": {"type": "string", "format": "date-time"},
            "uptime_seconds": {"type": "number"},
            "started_at": {"type": "string", "format": "date-time"},
            "checks": {"type": "object", "additionalProperties": _ref("CheckResult")},
            "database": {"type": "string"},
            "gaps_detected": _INTEGER_OR_NULL,
            "missing_dates": {
                "type": ["array", "null"],
                "items": {"type": "string", "format": "date"},
            },
            "version": {"type": "string"},
        },
    },
}

_DAYS = {
    "name": "days",
    "in": "query",
    "required": False,
    "description": "How many complete UTC days before today.",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": DEFAULT_DAYS},
}
_BAD_PARAMETER = _json(_ref("BadParameter"), "A query parameter is invalid; `parameter` names it.")
_UNAVAILABLE = _json(_ref("StoreUnavailable"), "The price store cannot be read.")
_PRICES = ["prices"]

PATHS: dict[str, Any] = {
    "/": {
        "get": {
            "tags": ["service"],
            "summary": "Service name, version and entry points",
            "operationId": "serviceIndex",
            "responses": {"200": _json(_ref("ServiceIndex"), "The service index.")},
        }
    },
    "/api/prices/latest": {
        "get": {
            "tags": _PRICES,
            "summary": "The most recent stored day",
            "operationId": "latestPrice",
            "responses": {
                "200": _json(_ref("PriceEntry"), "The latest day, valid or not (see is_valid)."),
                "404": _json(_ref("NotFound"), "No prices yet: the series is empty."),
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
                f" `end` (inclusive, at most {MAX_DAYS} days). `format=csv` returns CSV with the"
                " same columns."
            ),
            "operationId": "historicalPrices",
            "parameters": [
                _DAYS,
                {
                    "name": "start",
                    "in": "query",
                    "description": "First day (with end).",
                    "schema": {"type": "string", "format": "date"},
                },
                {
                    "name": "end",
                    "in": "query",
                    "description": "Last day, inclusive (with start).",
                    "schema": {"type": "string", "format": "date"},
                },
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"enum": ["json", "csv"], "default": "json"},
                },
            ],
            "responses": {
                "200": {
                    "description": "The stored days (missing days are absent).",
                    "content": {
                        "application/json": {"schema": _ref("PriceList")},
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
                "200": _json(_ref("ComparisonStats"), "Statistics over the period."),
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
                "200": _json(_ref("Gaps"), "Missing and invalid days, oldest first."),
                "400": _BAD_PARAMETER,
                "503": _UNAVAILABLE,
            },
        }
    },
    "/api/openapi.json": {
        "get": {
            "tags": ["service"],
            "summary": "This document",
            "operationId": "openapiDocument",
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
        }
    },
    "/api/docs": {
        "get": {
            "tags": ["service"],
            "summary": "A page that renders this document",
            "operationId": "apiDocs",
            "responses": {
                "200": {
                    "description": "HTML page",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            },
        }
    },
    "/health": {
        "get": {
            "tags": ["health"],
            "summary": "Service health with every check",
            "operationId": "health",
            "responses": {
                "200": _json(_ref("Health"), "Healthy or degraded."),
                "503": _json(_ref("Health"), "Unhealthy."),
            },
        }
    },
    "/health/live": {
        "get": {
            "tags": ["health"],
            "summary": "Liveness: the process answers",
            "operationId": "healthLive",
            "responses": {"200": _json({"type": "object"}, "Alive.")},
        }
    },
    "/health/ready": {
        "get": {
            "tags": ["health"],
            "summary": "Readiness: the service can serve requests",
            "operationId": "healthReady",
            "responses": {
                "200": _json({"type": "object"}, "Ready."),
                "503": _json({"type": "object"}, "Not ready."),
            },
        }
    },
}

TAGS = [
    {"name": "prices", "description": "The daily on-chain BTC/USD price series."},
    {"name": "health", "description": "Service health for monitors and probes."},
    {"name": "service", "description": "The service itself."},
]


def _fragments() -> list[Any]:
    """The fragment modules that exist in this installation."""
    found = []
    for name in FRAGMENT_MODULES:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if not (name == exc.name or name.startswith(f"{exc.name}.")):
                raise
    return found


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The whole document: the built-in paths and schemas merged with every fragment's."""
    paths, schemas, tags = copy.deepcopy(PATHS), copy.deepcopy(SCHEMAS), copy.deepcopy(TAGS)
    for fragment in _fragments():
        paths.update(getattr(fragment, "PATHS", {}))
        schemas.update(getattr(fragment, "SCHEMAS", {}))
        known = {tag["name"] for tag in tags}
        tags.extend(t for t in getattr(fragment, "TAGS", []) if t["name"] not in known)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "oracle",
            "version": settings.VERSION,
            "description": (
                "Self-hosted on-chain BTC/USD price (UTXOracle), whale alerts and health for"
                " Bitcoin node operators."
            ),
        },
        "tags": tags,
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas},
    }
