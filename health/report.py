"""What the health endpoints say: the status rules and the response bodies, in the earlier API's
JSON and in the IETF health-check draft (draft-inadarei-api-health-check) shape.

Status: healthy when every check is ok and no price day is missing; unhealthy when a critical
check is not ok; degraded otherwise (including when the missing days cannot be determined).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings

from core.api import iso
from health.base import Check, ServiceCheck

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
HTTP_STATUS = {HEALTHY: 200, DEGRADED: 200, UNHEALTHY: 503}
IETF_MEDIA_TYPE = "application/health+json"
IETF_STATUS = {HEALTHY: "pass", DEGRADED: "warn", UNHEALTHY: "fail"}
# The process start, recorded when Django loads the health app (see HealthConfig.ready).
PROCESS_STARTED_AT = datetime.now(UTC)
_PROCESS_STARTED_MONOTONIC = time.monotonic()


def uptime_seconds() -> float:
    return round(time.monotonic() - _PROCESS_STARTED_MONOTONIC, 3)


@dataclass(frozen=True)
class HealthReport:
    """The checks, their results and the missing price days at one moment."""

    checks: list[Check]
    results: dict[str, ServiceCheck]
    missing_dates: list[date] | None
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def status(self) -> str:
        if any(check.critical and not self.results[check.name].ok for check in self.checks):
            return UNHEALTHY
        if self.missing_dates == [] and all(result.ok for result in self.results.values()):
            return HEALTHY
        return DEGRADED

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.status]


def check_body(result: ServiceCheck) -> dict[str, Any]:
    """One check as the public bodies show it: the short reason, not the full detail."""
    return {
        "status": result.status,
        "latency_ms": result.latency_ms,
        "error": None if result.ok else result.reason or result.status,
        "correlation_id": result.correlation_id,
        "last_success": iso(result.last_success),
    }


def legacy_body(report: HealthReport) -> dict[str, Any]:
    """The earlier API's /health fields, plus `version`."""
    database = report.results.get("database")
    missing = report.missing_dates
    return {
        "status": report.status,
        "timestamp": iso(report.timestamp),
        "uptime_seconds": uptime_seconds(),
        "started_at": iso(PROCESS_STARTED_AT),
        "checks": {name: check_body(result) for name, result in report.results.items()},
        "database": None if database is None else database.status,
        "gaps_detected": None if missing is None else len(missing),
        "missing_dates": None if missing is None else [day.isoformat() for day in missing],
        "version": settings.VERSION,
    }


def ietf_body(report: HealthReport) -> dict[str, Any]:
    """The same data as `legacy_body`, in the IETF health-check draft's shape."""
    now = iso(report.timestamp)
    checks: dict[str, list[dict[str, Any]]] = {}
    problems = []
    for check in report.checks:
        result = report.results[check.name]
        entry: dict[str, Any] = {
            "componentType": check.component_type,
            "status": "pass" if result.ok else "fail",
            "time": iso(result.checked_at),
            "observedValue": result.latency_ms,
            "observedUnit": "ms",
        }
        if not result.ok:
            entry["output"] = check_body(result)["error"]
            if result.correlation_id:
                entry["output"] += f" (correlation ID {result.correlation_id})"
            problems.append(f"{check.name}: {result.status}")
        if result.last_success is not None:
            entry["lastSuccess"] = iso(result.last_success)
        checks[f"{check.name}:responseTime"] = [entry]
    gaps = _gaps_entry(report.missing_dates, now)
    if gaps["status"] != "pass":
        problems.append(gaps["output"])
    checks["price_series:missingDays"] = [gaps]
    checks["uptime"] = [
        {
            "componentType": "system",
            "observedValue": uptime_seconds(),
            "observedUnit": "s",
            "status": "pass",
            "time": now,
        }
    ]
    body: dict[str, Any] = {
        "status": IETF_STATUS[report.status],
        "releaseId": settings.VERSION,
        "serviceId": "oracle",
        "description": "oracle: on-chain BTC/USD price, whale alerts and node health",
        "notes": [f"started at {iso(PROCESS_STARTED_AT)}"],
        "checks": checks,
    }
    if problems:
        body["output"] = "; ".join(problems)
    return body


def _gaps_entry(missing: list[date] | None, now: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"componentType": "datastore", "time": now}
    if missing is None:
        return {**entry, "status": "warn", "output": "missing price days: unknown"}
    entry.update(observedValue=len(missing), observedUnit="days")
    if not missing:
        return {**entry, "status": "pass"}
    days = ", ".join(day.isoformat() for day in missing)
    return {**entry, "status": "warn", "output": f"missing price days: {days}"}


def readiness_body(results: dict[str, ServiceCheck]) -> tuple[dict[str, Any], int]:
    """/health/ready: the critical checks; 503 when any of them is not ok."""
    ready = all(result.ok for result in results.values())
    body = {
        "status": "ready" if ready else "unready",
        "timestamp": iso(datetime.now(UTC)),
        "checks": {name: check_body(result) for name, result in results.items()},
    }
    return body, 200 if ready else 503


def liveness_body() -> dict[str, Any]:
    """/health/live: the process answers; nothing else is touched."""
    return {"status": "alive", "uptime_seconds": uptime_seconds(), "version": settings.VERSION}
