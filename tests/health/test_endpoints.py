"""/health, /health/live and /health/ready in-process, against real local services and stores."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.health.conftest import CHECK_TIMEOUT
from tests.health.ietf import assert_valid_health_json
from tests.health.price_store import publish_garbage, write_lock_held, write_store
from tests.health.upstreams import Upstreams
from tests.support import free_port

# A hung stub answers after 30 s: finishing well before that proves the timeout cut it short.
HANG_BOUND = 10.0
LEGACY_FIELDS = {
    "status",
    "timestamp",
    "uptime_seconds",
    "started_at",
    "checks",
    "database",
    "gaps_detected",
    "missing_dates",
    "version",
}
pytestmark = pytest.mark.django_db


async def get_health(async_client, path: str = "/health", **headers):
    started = time.monotonic()
    response = await async_client.get(path, headers=headers)
    return response, time.monotonic() - started


async def test_all_ok_is_healthy_with_the_earlier_fields(async_client, stack: Upstreams) -> None:
    response, _ = await get_health(async_client)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert (
        response["Cache-Control"] == "public, max-age=5"
    )  # the cache window (HEALTH_CACHE_SECONDS)
    assert response["Vary"] == "Accept"
    body = response.json()
    assert set(body) == LEGACY_FIELDS
    assert body["status"] == "healthy"
    assert body["database"] == "ok"
    assert (body["gaps_detected"], body["missing_dates"]) == (0, [])
    assert body["version"] == "0.1.0"
    assert set(body["checks"]) == {
        "database",
        "app_database",
        "electrs",
        "mempool_backend",
        "bitcoin_rpc",
    }
    for check in body["checks"].values():
        assert set(check) == {"status", "latency_ms", "error", "correlation_id", "last_success"}
        assert check["status"] == "ok" and check["error"] is check["correlation_id"] is None
        assert datetime.fromisoformat(check["last_success"]) <= datetime.now(UTC)
    started = datetime.fromisoformat(body["started_at"])
    assert started <= datetime.fromisoformat(body["timestamp"])
    assert body["uptime_seconds"] > 0


async def test_a_hung_electrs_degrades_within_the_budget(async_client, stack: Upstreams) -> None:
    stack.modes["electrs"] = "hang"
    response, elapsed = await get_health(async_client)
    assert elapsed < HANG_BOUND, f"took {elapsed:.3f} s"
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["electrs"]["status"] == "timeout"
    assert body["checks"]["electrs"]["latency_ms"] >= CHECK_TIMEOUT * 1000
    assert body["checks"]["mempool_backend"]["status"] == "ok"


def logged_detail(json_logs, check: dict) -> str:
    """The full detail of a failed check: the log line its correlation ID names."""
    (line,) = [
        line
        for line in json_logs.events("health_check_failed")
        if line["correlation_id"] == check["correlation_id"]
    ]
    return line["error"]


@pytest.mark.parametrize(
    ("mode", "reason", "detail"),
    [
        ("500", "HTTP 500", "mempool_backend: /api/v1/prices: HTTP 500"),
        ("garbage", "the answer is not JSON", "mempool_backend: /api/v1/prices: the answer is"),
        ("refused", "connection failed", "mempool_backend: /api/v1/prices: connection failed ("),
    ],
)
async def test_a_failing_mempool_backend_degrades_with_a_short_reason(
    async_client, stack: Upstreams, settings, json_logs, mode: str, reason: str, detail: str
) -> None:
    """Finding 9: public bodies showed upstream paths, hosts and ports; the detail is logged."""
    if mode == "refused":
        settings.MEMPOOL_URL = f"http://127.0.0.1:{free_port()}"
    stack.modes["mempool"] = mode
    response, _ = await get_health(async_client)
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "degraded")
    check = body["checks"]["mempool_backend"]
    assert (check["status"], check["error"]) == ("error", reason)
    assert logged_detail(json_logs, check).startswith(detail)
    assert "/api/v1" not in response.text and "127.0.0.1" not in response.text


async def test_an_unreadable_price_store_is_unhealthy(
    async_client, stack, settings, json_logs
) -> None:
    publish_garbage(Path(settings.DUCKDB_PATH))
    response, _ = await get_health(async_client)
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]) == ("unhealthy", "error")
    assert body["checks"]["database"]["error"] == "price store unavailable"
    assert "not a valid DuckDB database file" in logged_detail(
        json_logs, body["checks"]["database"]
    )
    assert str(Path(settings.DUCKDB_PATH).parent) not in response.text
    assert (body["gaps_detected"], body["missing_dates"]) == (None, None)


async def test_a_price_store_never_published_is_unhealthy(
    async_client, stack, settings, json_logs
) -> None:
    settings.DUCKDB_PATH = Path(settings.DUCKDB_PATH).with_name("fresh.duckdb")
    response, _ = await get_health(async_client)
    body = response.json()
    assert (response.status_code, body["status"]) == (503, "unhealthy")
    assert body["checks"]["database"]["error"] == "price store unavailable"
    assert logged_detail(json_logs, body["checks"]["database"]) == (
        "price store: no price store has been published yet"
    )
    assert body["gaps_detected"] == 7  # an empty series misses every day


async def test_a_writer_holding_the_store_leaves_health_alone(
    async_client, stack, settings
) -> None:
    with write_lock_held(Path(settings.DUCKDB_PATH)):
        response, _ = await get_health(async_client)
    assert (response.status_code, response.json()["status"]) == (200, "healthy")


async def test_missing_days_degrade_and_are_listed(async_client, stack, settings, tmp_path) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    settings.DUCKDB_PATH = write_store(
        tmp_path / "partial.duckdb", [(yesterday, True), (yesterday - timedelta(days=3), False)]
    )
    body = (await async_client.get("/health")).json()
    assert body["status"] == "degraded"
    assert body["gaps_detected"] == 6
    assert yesterday.isoformat() not in body["missing_dates"]
    assert (yesterday - timedelta(days=3)).isoformat() in body["missing_dates"]
    assert [date.fromisoformat(d) for d in body["missing_dates"]] == sorted(
        date.fromisoformat(d) for d in body["missing_dates"]
    )
    response = await async_client.get("/health?format=ietf")
    ietf = response.json()
    assert_valid_health_json(ietf, response.status_code)
    gaps = ietf["checks"]["price_series:missingDays"][0]
    assert (gaps["status"], gaps["observedValue"], gaps["observedUnit"]) == ("warn", 6, "days")
    assert gaps["output"].startswith("missing price days: ")
    assert ietf["output"] == gaps["output"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/health", {"Accept": "application/health+json"}),
        ("/health?format=ietf", {}),
        ("/health?format=IETF", {"Accept": "application/json"}),
        ("/health", {"Accept": "application/health+json, application/json;q=0.5"}),
    ],
)
async def test_the_ietf_shape_is_served_on_request(
    async_client, stack: Upstreams, path: str, headers: dict
) -> None:
    stack.modes["electrs"] = "500"
    response, _ = await get_health(async_client, path, **headers)
    assert response["Content-Type"] == "application/health+json"
    assert response["Cache-Control"] == "public, max-age=5" and response["Vary"] == "Accept"
    body = response.json()
    assert_valid_health_json(body, response.status_code)
    assert body["status"] == "warn"
    electrs = body["checks"]["electrs:responseTime"][0]
    assert electrs["status"] == "fail"
    assert re.fullmatch(r"HTTP 500 \(correlation ID [0-9a-f-]{36}\)", electrs["output"])
    assert electrs["observedUnit"] == "ms"
    assert body["checks"]["database:responseTime"][0]["status"] == "pass"
    assert body["checks"]["price_series:missingDays"][0]["observedValue"] == 0
    assert body["output"] == "electrs: error"


async def test_the_ietf_shape_of_an_unhealthy_service(async_client, stack, settings) -> None:
    publish_garbage(Path(settings.DUCKDB_PATH))
    response = await async_client.get("/health?format=ietf")
    body = response.json()
    assert_valid_health_json(body, response.status_code)
    assert (response.status_code, body["status"]) == (503, "fail")
    gaps = body["checks"]["price_series:missingDays"][0]
    assert (gaps["status"], gaps["output"]) == ("warn", "missing price days: unknown")


async def test_plain_browsers_get_the_earlier_json(async_client, stack) -> None:
    response = await async_client.get("/health", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == LEGACY_FIELDS


@pytest.mark.parametrize("query", ["format=xml", "format=", "format=%ff%fe"])
async def test_an_unknown_format_is_a_400_not_a_500(async_client, stack, query: str) -> None:
    response = await async_client.get(f"/health?{query}")
    assert response.status_code == 400
    body = response.json()
    assert (body["error"], list(body["parameters"])) == ("invalid_parameter", ["format"])
    assert body["detail"].startswith("format must be one of legacy, ietf (got ")
    assert stack.hits("electrs") == 0


async def test_odd_query_strings_are_ignored(async_client, stack) -> None:
    response = await async_client.get("/health?%zz=%%&format=legacy&x[]=1")
    assert response.status_code == 200


async def test_only_get_and_head_are_allowed(async_client, stack) -> None:
    assert (await async_client.post("/health")).status_code == 405
    assert (await async_client.head("/health")).status_code == 200


async def test_health_is_not_kept_by_caches_when_its_cache_is_off(
    async_client, stack, settings
) -> None:
    settings.HEALTH_CACHE_SECONDS = 0
    response, _ = await get_health(async_client)
    assert response["Cache-Control"] == "no-store"
    ready = await async_client.get("/health/ready")
    assert ready["Cache-Control"] == "no-store"


async def test_live_touches_nothing(async_client, stack, settings) -> None:
    publish_garbage(Path(settings.DUCKDB_PATH))
    response = await async_client.get("/health/live")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "alive" and body["version"] == "0.1.0"
    assert body["uptime_seconds"] > 0
    assert "no-store" in response["Cache-Control"]
    assert sum(stack.hits(name) for name in ("electrs", "mempool", "rpc")) == 0


async def test_ready_runs_only_the_critical_checks(async_client, stack: Upstreams) -> None:
    stack.modes["electrs"] = "hang"
    response, _ = await get_health(async_client, "/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "app_database"}
    assert stack.hits("electrs") == 0


async def test_ready_fails_with_a_critical_check(async_client, stack, settings) -> None:
    publish_garbage(Path(settings.DUCKDB_PATH))
    response = await async_client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unready"
    assert body["checks"]["database"]["status"] == "error"
    assert body["checks"]["app_database"]["status"] == "ok"
