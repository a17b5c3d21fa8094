"""The health app's part of the OpenAPI document (merged by `core.openapi`): /health,
/health/live and /health/ready and their schemas."""

from __future__ import annotations

from typing import Any

from core.openapi import DATE, TIME, TIME_OR_NULL, body, error, query, ref

_IETF_STATUS = {"enum": ["pass", "warn", "fail"]}


def _both(description: str) -> dict[str, Any]:
    """The legacy shape, or the IETF one when asked for."""
    return {
        "description": description,
        "content": {
            "application/json": {"schema": ref("Health")},
            "application/health+json": {"schema": ref("HealthIetf")},
        },
    }


SCHEMAS: dict[str, Any] = {
    "CheckResult": {
        "type": "object",
        "required": ["status", "latency_ms", "error", "last_success"],
        "additionalProperties": False,
        "properties": {
            "status": {"enum": ["ok", "error", "timeout"]},
            "latency_ms": {"type": "number", "description": "How long the probe took."},
            "error": {
                "type": ["string", "null"],
                "description": "Why it failed, in short: no secret, path, host or port.",
            },
            "correlation_id": {
                "type": ["string", "null"],
                "description": "With a failure: the correlation ID of the log line with its detail.",
            },
            "last_success": {**TIME_OR_NULL, "description": "Also from before a restart."},
        },
    },
    "Health": {
        "type": "object",
        "description": (
            "healthy: every check ok and no missing day; unhealthy: a critical check (database,"
            " app_database) not ok; degraded otherwise."
        ),
        "required": [
            "status",
            "timestamp",
            "uptime_seconds",
            "started_at",
            "checks",
            "database",
            "gaps_detected",
            "missing_dates",
            "version",
        ],
        "additionalProperties": False,
        "properties": {
            "status": {"enum": ["healthy", "degraded", "unhealthy"]},
            "timestamp": TIME,
            "uptime_seconds": {"type": "number"},
            "started_at": TIME,
            "checks": {"type": "object", "additionalProperties": ref("CheckResult")},
            "database": {
                "enum": ["ok", "error", "timeout"],
                "description": "The status of the `database` check (the price store).",
            },
            "gaps_detected": {
                "type": ["integer", "null"],
                "description": "Complete days without a valid price; null if unknown.",
            },
            "missing_dates": {
                "type": ["array", "null"],
                "items": DATE,
            },
            "version": {"type": "string"},
        },
    },
    "HealthIetfCheck": {
        "type": "object",
        "required": ["status", "time"],
        "properties": {
            "componentType": {"type": "string"},
            "observedValue": {"type": "number"},
            "observedUnit": {"type": "string"},
            "status": _IETF_STATUS,
            "time": TIME,
            "output": {"type": "string", "description": "Only when not pass."},
            "lastSuccess": TIME,
        },
    },
    "HealthIetf": {
        "type": "object",
        "description": "The IETF health-check draft (draft-inadarei-api-health-check) shape.",
        "required": ["status", "checks"],
        "properties": {
            "status": _IETF_STATUS,
            "releaseId": {"type": "string"},
            "serviceId": {"type": "string"},
            "description": {"type": "string"},
            "notes": {"type": "array", "items": {"type": "string"}},
            "output": {"type": "string"},
            "checks": {
                "type": "object",
                "description": "`NAME:responseTime` per check, `price_series:missingDays`, `uptime`.",
                "additionalProperties": {
                    "type": "array",
                    "items": ref("HealthIetfCheck"),
                },
            },
        },
    },
    "Liveness": {
        "type": "object",
        "required": ["status", "uptime_seconds", "version"],
        "additionalProperties": False,
        "properties": {
            "status": {"const": "alive"},
            "uptime_seconds": {"type": "number"},
            "version": {"type": "string"},
        },
    },
    "Readiness": {
        "type": "object",
        "required": ["status", "timestamp", "checks"],
        "additionalProperties": False,
        "properties": {
            "status": {"enum": ["ready", "unready"]},
            "timestamp": TIME,
            "checks": {"type": "object", "additionalProperties": ref("CheckResult")},
        },
    },
}

PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "tags": ["health"],
            "summary": "Service health with every check",
            "description": (
                "Checks run concurrently within HEALTH_CHECKTIMEOUT; results are reused for"
                " HEALTH_CACHE_SECONDS. `Accept: application/health+json` or `?format=ietf`"
                " selects the IETF shape."
            ),
            "operationId": "health",
            "parameters": [
                query(
                    "format",
                    {"enum": ["legacy", "ietf"]},
                    "Response shape; default legacy unless Accept asks for IETF.",
                )
            ],
            "responses": {
                "200": _both("Healthy or degraded."),
                "400": error("Unknown `format`."),
                "503": _both("Unhealthy."),
            },
        }
    },
    "/health/live": {
        "get": {
            "tags": ["health"],
            "summary": "Liveness: the process answers (touches nothing)",
            "operationId": "healthLive",
            "responses": {"200": body(ref("Liveness"), "Alive.")},
        }
    },
    "/health/ready": {
        "get": {
            "tags": ["health"],
            "summary": "Readiness: the critical checks (price store, app database) pass",
            "operationId": "healthReady",
            "responses": {
                "200": body(ref("Readiness"), "Ready."),
                "503": body(ref("Readiness"), "A critical check fails."),
            },
        }
    },
}

TAGS = [{"name": "health", "description": "Service health for monitors and probes."}]
