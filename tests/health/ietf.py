"""The field rules of the IETF health-check response format (draft-inadarei-api-health-check-06)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

STATUSES = {"pass", "fail", "warn"}
STRING_FIELDS = ("version", "releaseId", "output", "serviceId", "description")
CHECK_STRING_FIELDS = ("componentId", "componentType", "observedUnit", "output")


def assert_valid_health_json(body: dict[str, Any], http_status: int) -> None:
    """Fail with a precise message when `body` breaks a rule of the draft."""
    assert body.get("status") in STATUSES, "status is required: pass, fail or warn"
    if body["status"] == "fail":
        assert 400 <= http_status < 600, "fail must come with a 4xx/5xx code"
    else:
        assert 200 <= http_status < 400, "pass/warn must come with a 2xx/3xx code"
    for name in STRING_FIELDS:
        assert name not in body or isinstance(body[name], str), f"{name} must be a string"
    if body["status"] == "pass":
        assert "output" not in body, "output should be omitted on pass"
    notes = body.get("notes", [])
    assert isinstance(notes, list) and all(isinstance(n, str) for n in notes)
    assert isinstance(body.get("links", {}), dict)
    checks = body.get("checks", {})
    assert isinstance(checks, dict), "checks must be an object"
    for key, entries in checks.items():
        assert key and key.count(":") <= 1 and all(key.split(":")), f"bad check key {key!r}"
        assert isinstance(entries, list) and entries, f"{key}: must be a non-empty array"
        for entry in entries:
            _assert_valid_check(key, entry)


def _assert_valid_check(key: str, entry: dict[str, Any]) -> None:
    assert isinstance(entry, dict), f"{key}: entries must be objects"
    assert entry.get("status") in STATUSES, f"{key}: status must be pass, fail or warn"
    for name in CHECK_STRING_FIELDS:
        assert name not in entry or isinstance(entry[name], str), f"{key}: {name} not a string"
    if "observedValue" in entry:
        assert "observedUnit" in entry, f"{key}: observedValue needs observedUnit"
    if key.endswith(":responseTime") and "observedValue" in entry:
        assert entry["observedUnit"] == "ms", f"{key}: response times are in ms"
        assert isinstance(entry["observedValue"], int | float)
    if entry["status"] == "pass":
        assert "output" not in entry, f"{key}: output should be omitted on pass"
    else:
        assert entry.get("output"), f"{key}: a failing check should say why"
    assert "time" in entry, f"{key}: time is required here"
    datetime.fromisoformat(entry["time"])
    assert isinstance(entry.get("affectedEndpoints", []), list)
