"""/metrics: scraped through Django and over real HTTP, parsed with prometheus-client's parser,
checked against the stores; several processes merged through a real multiprocess directory."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts import store, tokens
from alerts.models import FeedStatus
from core.metrics import NOTIFICATIONS
from health.base import ServiceCheck
from health.history import record_samples
from prices.store import open_writer
from tests.alerts.helpers import Stack, stored_alert
from tests.health.price_store import write_store
from tests.prices.builders import day_record
from tests.support import PYTHON, ROOT, service_env

pytestmark = pytest.mark.django_db
GRAFANA = ROOT / "deploy/grafana/oracle.json"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def auth() -> dict[str, str]:
    _, raw = tokens.create_token("prometheus")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def stored(settings, tmp_path: Path) -> None:
    """A price store (latest valid day two days ago, yesterday invalid, three days ago absent),
    two check samples, three whales and the feed's status."""
    settings.DUCKDB_PATH = tmp_path / "prices.duckdb"
    settings.HEALTH_GAP_DAYS = 7
    today = datetime.now(UTC).date()
    write_store(settings.DUCKDB_PATH, [(today - timedelta(days=n), True) for n in (4, 5, 6, 7)])
    write_store(settings.DUCKDB_PATH, [(today - timedelta(days=1), False)])
    latest = day_record(today - timedelta(days=2), price=64_000.0, exchange_price=64_640.0)
    with open_writer(settings.DUCKDB_PATH) as writer:
        writer.save_day(latest, [])
    now = timezone.now()
    record_samples(
        {
            "database": ServiceCheck("ok", 12.0, None, now, now - timedelta(seconds=30)),
            "mempool_feed": ServiceCheck("timeout", 2000.0, "timeout", None, now),
        }
    )
    rows = [stored_alert(btc=200), stored_alert(btc=300), stored_alert(btc=400)]
    store.mark_confirmed(rows[0].txid, 900_000, None)
    FeedStatus.objects.create(connected=True, last_message_at=now - timedelta(seconds=42))


def test_the_stores_figures(client, auth, stored) -> None:
    today = datetime.now(UTC).date()
    response = client.get("/metrics", **auth)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.content.decode())

    assert found[("oracle_price_usd", ())] == 64_000.0
    assert found[("oracle_price_exchange_usd", ())] == 64_640.0
    assert found[("oracle_price_exchange_deviation_ratio", ())] == pytest.approx(-0.0099, abs=1e-4)
    assert found[("oracle_price_confidence", ())] == 0.9
    age = found[("oracle_price_latest_day_age_seconds", ())]
    midnight = datetime.combine(today - timedelta(days=1), datetime.min.time(), UTC)
    assert 0 <= (datetime.now(UTC) - midnight).total_seconds() - age < 60
    assert found[("oracle_price_missing_days", ())] == 2  # yesterday invalid, 3 days ago absent
    assert found[("oracle_health_check_status", (("check", "database"),))] == 0
    assert found[("oracle_health_check_status", (("check", "mempool_feed"),))] == 2
    assert found[("oracle_health_check_latency_seconds", (("check", "mempool_feed"),))] == 2.0
    assert 30 <= found[("oracle_health_check_age_seconds", (("check", "database"),))] < 90
    assert found[("oracle_whale_alerts", (("status", "pending"),))] == 2
    assert found[("oracle_whale_alerts", (("status", "confirmed"),))] == 1
    assert found[("oracle_whale_alerts", (("status", "dropped"),))] == 0
    assert found[("oracle_feed_connected", ())] == 1
    assert 42 <= found[("oracle_feed_last_message_age_seconds", ())] < 100
    for source in ("prices", "health", "alerts"):
        assert found[("oracle_metrics_source_up", (("source", source),))] == 1


def test_requests_by_route_pattern_not_path(client, auth, settings, tmp_path: Path) -> None:
    settings.DUCKDB_PATH = tmp_path / "absent.duckdb"
    for day in ("2025-01-01", "2025-01-02", "not-a-date"):
        client.get(f"/api/prices/{day}")
    client.get("/no/such/page/at/all")
    found = samples(client.get("/metrics", **auth).content.decode())
    counts = {
        labels: value
        for (name, labels), value in found.items()
        if name == "oracle_http_request_duration_seconds_count"
    }
    routes = {dict(labels)["route"] for labels in counts}
    assert "/api/prices/<day:date>" in routes and "unmatched" in routes
    assert not any("2025" in route for route in routes)
    assert all(dict(labels)["status_class"] in {"2xx", "3xx", "4xx", "5xx"} for labels in counts)


def test_a_store_that_fails_is_reported_not_fatal(client, auth, settings, tmp_path: Path) -> None:
    from tests.health.price_store import publish_garbage

    settings.DUCKDB_PATH = tmp_path / "prices.duckdb"
    publish_garbage(settings.DUCKDB_PATH)
    response = client.get("/metrics", **auth)
    assert response.status_code == 200
    found = samples(response.content.decode())
    assert found[("oracle_metrics_source_up", (("source", "prices"),))] == 0
    assert found[("oracle_metrics_source_up", (("source", "alerts"),))] == 1
    assert ("oracle_price_usd", ()) not in found


def test_tokens_unless_public(client, settings) -> None:
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wat_nope").status_code == 401
    assert client.post("/metrics").status_code == 405
    settings.METRICS_PUBLIC = True
    assert client.get("/metrics").status_code == 200


def test_the_dashboard_uses_only_exported_names(client, auth, stored) -> None:
    """Every expression of the Grafana dashboard names metrics that /metrics exports."""
    NOTIFICATIONS.labels("whale", "sent").inc(0)
    client.get("/health/live")
    text = client.get("/metrics", **auth).content.decode()
    exported = {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }
    dashboard = json.loads(GRAFANA.read_text())
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert exprs
    for expr in exprs:
        names = set(re.findall(r"\boracle_[a-z_]+", expr))
        assert names and names <= exported, (expr, names - exported)


def _write_in_a_process(directory: Path, subscribers: int, notifications: int) -> None:
    code = (
        "from core.metrics import NOTIFICATIONS, SUBSCRIBERS\n"
        f"SUBSCRIBERS.inc({subscribers})\n"
        f"NOTIFICATIONS.labels('whale', 'sent').inc({notifications})\n"
    )
    env = service_env(PROMETHEUS_MULTIPROC_DIR=str(directory))
    subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)


def test_several_processes_are_summed_in_one_scrape_over_http(tmp_path: Path) -> None:
    """Two processes write into a real multiprocess directory; a daphne scrape (on the production
    HTTPS default: /metrics, like /health, is not redirected) sees the sums."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    _write_in_a_process(directory, subscribers=2, notifications=3)
    _write_in_a_process(directory, subscribers=5, notifications=4)
    stack = Stack(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(directory), DJANGO_HTTPS="true")
    try:
        stack.run("migrate", "--noinput")
        token = stack.run("create_alert_token", "prometheus").strip().splitlines()[-1]
        web = stack.daphne()
        health = requests.get(f"{web.url}/health/live", allow_redirects=False, timeout=10)
        anonymous = requests.get(f"{web.url}/metrics", allow_redirects=False, timeout=10)
        scraped = requests.get(
            f"{web.url}/metrics",
            headers={"Authorization": f"Bearer {token}"},
            allow_redirects=False,
            timeout=10,
        )
    finally:
        stack.stop()
    assert health.status_code == 200
    assert anonymous.status_code == 401
    assert scraped.status_code == 200
    found = samples(scraped.text)
    assert found[("oracle_alert_subscribers", ())] == 7
    notified = (("kind", "whale"), ("outcome", "sent"))
    assert found[("oracle_notifications_total", notified)] == 7
    requests_seen = [
        value
        for (name, labels), value in found.items()
        if name == "oracle_http_request_duration_seconds_count"
        and dict(labels) == {"route": "/health/live", "status_class": "2xx"}
    ]
    assert requests_seen == [1]
