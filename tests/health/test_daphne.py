"""/health through a real daphne process: the time budget, single flight, a dead app database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.health.conftest import OTHER_APPS_CHECKS
from tests.health.price_store import complete_store
from tests.health.upstreams import RPC_PASSWORD, RPC_USER, Upstreams
from tests.support import ServiceProcess, free_port, start_daphne

TIMEOUT = 3.0
# A hung stub answers after 30 s: finishing well before that proves the timeout cut it short.
HANG_BOUND = 15.0


@pytest.fixture
def upstreams() -> Iterator[Upstreams]:
    stubs = Upstreams().start()
    yield stubs
    stubs.stop()


def serve(tmp_path: Path, upstreams: Upstreams, **env: str) -> ServiceProcess:
    settings = {
        "ORACLE_DATA_DIR": str(tmp_path / "data"),
        "DUCKDB_PATH": str(complete_store(tmp_path / "prices.duckdb")),
        "ELECTRS_URL": upstreams.url("electrs"),
        "MEMPOOL_URL": upstreams.url("mempool"),
        "BITCOIN_RPC_URL": upstreams.url("rpc"),
        "BITCOIN_RPC_USER": RPC_USER,
        "BITCOIN_RPC_PASSWORD": RPC_PASSWORD,
        "HEALTH_CHECK_TIMEOUT": str(TIMEOUT),
        "HEALTH_DISABLED_CHECKS": ",".join(OTHER_APPS_CHECKS),
        **env,
    }
    service = start_daphne(tmp_path, **settings)
    requests.get(service.url + "/health/live", timeout=10).raise_for_status()  # loads the URLconf
    return service


@pytest.fixture
def daphne_env(monkeypatch) -> None:
    # The service's own database: a fresh SQLite file unless a test says otherwise.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)


def test_health_answers_within_the_budget_while_every_upstream_hangs(
    tmp_path: Path, upstreams: Upstreams, daphne_env
) -> None:
    upstreams.modes.update(electrs="hang", mempool="hang", rpc="hang")
    service = serve(tmp_path, upstreams)
    try:
        with ThreadPoolExecutor(2) as pool:
            started = time.monotonic()
            pending = pool.submit(requests.get, service.url + "/health", timeout=30)
            answered_meanwhile = 0
            while not pending.done():
                requests.get(service.url + "/health/live", timeout=30).raise_for_status()
                answered_meanwhile += not pending.done()
            response = pending.result()
            elapsed = time.monotonic() - started
    finally:
        service.stop()
    assert elapsed < HANG_BOUND, f"/health took {elapsed:.3f} s"
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "degraded")
    for name in ("electrs", "mempool_backend", "bitcoin_rpc"):
        assert body["checks"][name]["status"] == "timeout"
    # While /health waited on the hung upstreams, other requests were served.
    assert answered_meanwhile >= 1


def test_a_hundred_concurrent_requests_cause_one_probe_per_upstream(
    tmp_path: Path, upstreams: Upstreams, daphne_env
) -> None:
    upstreams.delay = 0.3
    service = serve(tmp_path, upstreams, HEALTH_CACHE_SECONDS="60")
    start = threading.Barrier(100)

    def get_health(_: int) -> requests.Response:
        start.wait()
        return requests.get(service.url + "/health", timeout=20)

    try:
        with ThreadPoolExecutor(100) as pool:
            responses = list(pool.map(get_health, range(100)))
        head = requests.head(service.url + "/health", timeout=10)
    finally:
        service.stop()
    assert {r.status_code for r in responses} == {200}
    assert {r.json()["status"] for r in responses} == {"healthy"}
    assert [upstreams.hits(name) for name in ("electrs", "mempool", "rpc")] == [1, 1, 1]
    assert head.status_code == 200 and head.content == b""


def test_a_dead_app_database_is_unhealthy(tmp_path: Path, upstreams: Upstreams, daphne_env) -> None:
    dead = f"postgres://postgres@127.0.0.1:{free_port()}/test"
    service = serve(tmp_path, upstreams, DATABASE_URL=dead)
    try:
        response = requests.get(service.url + "/health", timeout=10)
        ready = requests.get(service.url + "/health/ready", timeout=10)
    finally:
        service.stop()
    body = response.json()
    assert (response.status_code, body["status"]) == (503, "unhealthy")
    app_database = body["checks"]["app_database"]
    assert app_database["status"] == "error"
    assert app_database["error"] == "database error (OperationalError)"
    assert body["checks"]["database"]["status"] == "ok"
    assert ready.status_code == 503
