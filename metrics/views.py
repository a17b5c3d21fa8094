"""`GET /metrics`: the Prometheus text format, behind the REST API's bearer tokens unless
METRICS_PUBLIC is on."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from alerts.views import bearer_refusal
from core.api import api_view
from core.metrics import scrape_registry
from metrics.collector import StoreCollector


@api_view()
def metrics(request: HttpRequest) -> HttpResponse:
    """Every recorded metric of every process, and the stores' figures read now."""
    refusal = None if settings.METRICS_PUBLIC else bearer_refusal(request)
    if refusal is not None:
        return refusal
    registry = scrape_registry()
    registry.register(StoreCollector())
    response = HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
