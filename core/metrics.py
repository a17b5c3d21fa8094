"""The metrics each process records as things happen (requests, subscribers, notifications), and
the registry a scrape reads them from.

With `PROMETHEUS_MULTIPROC_DIR` set (`make run` creates a fresh directory per start and gives it to
every web process and the worker), prometheus-client keeps each process's values in files there
and a scrape, on whichever web process it lands, merges every process's files: counts and
histograms add up, the subscriber gauge sums the live processes. The variable must be set before
prometheus-client is first imported, and the directory must be empty at each start. Without it
(one process, tests) the values are this process's own.

Values read from the stores (prices, checks, whales) are not recorded here: the `metrics` app
reads them at scrape time.
"""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"

REQUEST_SECONDS = Histogram(
    "oracle_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern and status class (its _count counts them).",
    ["route", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SUBSCRIBERS = Gauge(
    "oracle_alert_subscribers",
    "WebSocket subscribers connected (every web process).",
    multiprocess_mode="livesum",
)
NOTIFICATIONS = Counter(
    "oracle_notifications",
    "Notifications by kind and outcome: sent, failed (after its retries), dropped (queue full),"
    " limited (rate limit).",
    ["kind", "outcome"],
)


def route_of(request: HttpRequest) -> str:
    """The URL pattern a request matched (`/api/prices/<str:date>`), never its raw path: one
    label value per route, however many paths clients try."""
    match = getattr(request, "resolver_match", None)
    return "/" + match.route if match is not None and match.route is not None else UNMATCHED


def observe_request(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
    """Count one answered request and its duration."""
    status_class = f"{response.status_code // 100}xx"
    REQUEST_SECONDS.labels(route_of(request), status_class).observe(seconds)


class _ThisProcess:
    """The default registry's metrics, for a registry built per scrape without a multiproc dir."""

    def collect(self):  # type: ignore[no-untyped-def]
        yield from REGISTRY.collect()


def scrape_registry() -> CollectorRegistry:
    """A registry holding the recorded metrics of every process (or of this one)."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())  # type: ignore[arg-type]
    return registry
