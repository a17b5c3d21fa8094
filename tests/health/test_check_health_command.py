"""`manage.py check_health`: the /health JSON on stdout and exit codes 0/1/2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.health.price_store import publish_garbage
from tests.health.upstreams import Upstreams
from tests.support import free_port, start_command


def check_health() -> tuple[int, dict]:
    out = io.StringIO()
    try:
        call_command("check_health", stdout=out)
    except SystemExit as exit_:
        code = exit_.code
    else:
        code = 0
    return code, json.loads(out.getvalue())


@pytest.mark.django_db
def test_healthy_exits_0(stack: Upstreams) -> None:
    code, body = check_health()
    assert (code, body["status"]) == (0, "healthy")
    assert body["checks"]["electrs"]["status"] == "ok"


@pytest.mark.django_db
def test_degraded_exits_1(stack: Upstreams) -> None:
    stack.modes["mempool"] = "garbage"
    code, body = check_health()
    assert (code, body["status"]) == (1, "degraded")


@pytest.mark.django_db
def test_unhealthy_exits_2(stack: Upstreams, settings) -> None:
    publish_garbage(Path(settings.DUCKDB_PATH))
    code, body = check_health()
    assert (code, body["status"], body["database"]) == (2, "unhealthy", "error")


def test_the_process_exit_code_and_stdout(tmp_path: Path) -> None:
    store = tmp_path / "prices.duckdb"
    publish_garbage(store)
    refused = f"http://127.0.0.1:{free_port()}"
    command = start_command(
        tmp_path,
        "check_health",
        ORACLE_DATA_DIR=str(tmp_path / "data"),
        DUCKDB_PATH=str(store),
        ELECTRS_URL=refused,
        MEMPOOL_URL=refused,
        HEALTH_CHECK_TIMEOUT="5",
    )
    stdout, _ = command.process.communicate(timeout=30)
    assert command.process.returncode == 2
    body = json.loads(stdout)
    assert body["status"] == "unhealthy"
    electrs = body["checks"]["electrs"]
    assert electrs["error"] == "connection failed"  # the /health body: the short reason
    (failed,) = [  # the detail is on stderr, under the ID the body names
        line
        for line in command.log_lines()
        if line.get("event") == "health_check_failed" and line["check"] == "electrs"
    ]
    assert failed["correlation_id"] == electrs["correlation_id"]
    assert failed["error"].endswith("Connection refused)")
    assert {line["command"] for line in command.log_lines()} == {"check_health"}
