"""The metrics app's part of the OpenAPI document (merged by `core.openapi`): `/metrics`."""

from __future__ import annotations

from typing import Any

from core.openapi import error

PATHS: dict[str, Any] = {
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics",
            "description": (
                "The Prometheus text format (0.0.4): the latest valid price, missing days, each"
                " health check's latest result, the feed, stored whales by status, subscribers,"
                " requests by route and status class, notifications (docs/metrics.md). Requires"
                " `Authorization: Bearer <subscriber token>` unless METRICS_PUBLIC is on."
            ),
            "operationId": "metrics",
            "tags": ["metrics"],
            "responses": {
                "200": {
                    "description": "every metric",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "401": error("missing, malformed, unknown, expired or revoked token"),
            },
        }
    },
}

TAGS = [{"name": "metrics", "description": "Metrics for Prometheus."}]
