"""Commands start fast because they import only what they need: what a command imports is
asserted here (how long it takes is measured in bench/, not tested)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, service_env

# Twisted's reactor (structlog imports twisted.python for its integration whenever Twisted is
# installed, and the alerts app names a Twisted interface: both cost little), daphne, DuckDB, NumPy
# and the Redis client.
HEAVY = (
    "twisted.internet.reactor",
    "twisted.internet.tcp",
    "twisted.internet.asyncioreactor",
    "daphne",
    "autobahn",
    "duckdb",
    "numpy",
    "redis",
)
# Loaded with the URLconf (GET /metrics), which `check` inspects; no other command needs it.
REQUEST_METRICS = "prometheus_client"

# Runs manage.py with the given arguments and writes the heavy modules it imported, at exit.
PROBE = """
import atexit, json, runpy, sys
heavy = {heavy!r}
def record():
    loaded = sorted({{h for h in heavy for m in sys.modules if m == h or m.startswith(h + ".")}})
    with open({out!r}, "w") as handle:
        json.dump(loaded, handle)
atexit.register(record)
sys.argv = ["manage.py", *{args!r}]
runpy.run_path("manage.py", run_name="__main__")
"""


def heavy_imports(tmp_path: Path, *args: str) -> list[str]:
    out = tmp_path / "modules.json"
    code = PROBE.format(heavy=(*HEAVY, REQUEST_METRICS), out=str(out), args=list(args))
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=service_env(ORACLE_DATA_DIR=str(tmp_path / "data")),
        capture_output=True,
        timeout=120,
    )
    return json.loads(out.read_text())


@pytest.mark.parametrize(
    "args",
    [
        ("check",),
        ("oracle_price", "--help"),
        ("help",),
        ("run_worker", "--help"),
        ("check_health", "--help"),
        ("doctor", "--help"),
    ],
    ids=lambda args: " ".join(args),
)
def test_a_command_imports_nothing_heavy(tmp_path: Path, args: tuple[str, ...]) -> None:
    expected = [REQUEST_METRICS] if args == ("check",) else []
    assert heavy_imports(tmp_path, *args) == expected


def test_the_web_server_is_loaded_only_for_runserver(tmp_path: Path) -> None:
    assert "daphne" in heavy_imports(tmp_path, "runserver", "--help")
