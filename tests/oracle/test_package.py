"""`pip install .` into a clean virtual environment, offline, then the `oracle` command and daphne
run from another directory: every package, migration, template and static file is in the wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support import ROOT, ServiceProcess, free_port, wait_for_port
from tests.test_layout import LAYERS

pytestmark = pytest.mark.slow

# Filled by `make install-dev` (scripts/venv.sh); another wheelhouse can be named.
WHEELHOUSE = Path(os.environ.get("ORACLE_WHEELHOUSE", ROOT / ".wheels"))
OUR_COMMANDS = (
    "run_worker",
    "oracle_price",
    "update_prices",
    "backfill_prices",
    "migrate_prices",
    "create_alert_token",
    "check_health",
    "ensure_admin",
)


def copy_source(target: Path) -> None:
    """What `pip install .` needs from a checkout (a copy, so the build leaves no files in it)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in LAYERS:  # every package of the project is in the layering
        shutil.copytree(ROOT / package, target / package, ignore=ignore)
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy2(ROOT / name, target / name)


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a clean venv with the package installed from the wheelhouse alone."""
    if not list(WHEELHOUSE.glob("*.whl")):
        pytest.skip(f"no wheelhouse in {WHEELHOUSE} (`make install-dev` fills it)")
    base = tmp_path_factory.mktemp("package")
    copy_source(base / "src")
    subprocess.run([sys.executable, "-m", "venv", base / "venv"], check=True, timeout=120)
    pip = [base / "venv/bin/python", "-m", "pip", "install", "--quiet", "--no-index"]
    done = subprocess.run(
        [*pip, "--find-links", WHEELHOUSE, base / "src"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return base / "venv/bin"


@pytest.fixture
def elsewhere(tmp_path: Path, installed: Path) -> dict[str, str]:
    """An environment without the checkout: only the venv on PATH; a .env names the data dir
    (and plain HTTP: the test talks to daphne directly, without a TLS proxy)."""
    (tmp_path / ".env").write_text(f"ORACLE_DATA_DIR={tmp_path / 'data'}\nDJANGO_HTTPS=false\n")
    return {
        "PATH": f"{installed}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
    }


def oracle(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["oracle", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_oracle_command_lists_and_runs_every_management_command(tmp_path, elsewhere):
    where = subprocess.run(
        ["python", "-c", "import oracle; print(oracle.__file__)"],
        cwd=tmp_path,
        env=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "site-packages" in where.stdout and str(ROOT) not in where.stdout
    listed = oracle(tmp_path, elsewhere, "--help")
    assert listed.returncode == 0, listed.stderr
    for command in OUR_COMMANDS:
        assert f"    {command}\n" in listed.stdout
    assert oracle(tmp_path, elsewhere, "check").returncode == 0
    assert (tmp_path / "data/secret_key").exists()  # the .env of the working directory was read
    alias = oracle(tmp_path, elsewhere, "run-worker", "--help")
    assert alias.returncode == 0 and "--only NAME" in alias.stdout
    migrated = oracle(tmp_path, elsewhere, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr[-2000:]


def test_daphne_serves_the_installed_package(tmp_path, elsewhere):
    port = free_port()
    log_path = tmp_path / "daphne.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["daphne", "-b", "127.0.0.1", "-p", str(port), "oracle.asgi:application"],
            cwd=tmp_path,
            env=elsewhere,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    service = ServiceProcess(process, log_path, port)
    try:
        wait_for_port(port, timeout=60, process=process)
        assert get(f"{service.url}/health/live") == 200
        assert get(f"{service.url}/api/docs") == 200  # a template of core
        assert get(f"{service.url}/static/core/api-docs.css") == 200  # a static file
    finally:
        service.stop()
    assert service.log_lines()  # JSON logs by default: stderr is not a terminal
