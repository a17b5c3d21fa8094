"""The API contract, checked by a fuzzer: schemathesis runs every check against the OpenAPI
document of a live daphne (with a subscriber token, a fixed seed and a bounded number of cases per
operation) and must report no failure (finding 13)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.alerts.helpers import Stack

ST = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = "20261129"
CASES_PER_OPERATION = "50"

pytestmark = pytest.mark.skipif(
    not ST.exists() and shutil.which("st") is None, reason="schemathesis is not installed"
)


def test_schemathesis_finds_no_contract_failure(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    try:
        stack.run("migrate", "--noinput")
        stack.run("migrate_prices")
        token = stack.run("create_alert_token", "fuzzer").strip().splitlines()[-1]
        web = stack.daphne()
        result = subprocess.run(
            [
                str(ST if ST.exists() else shutil.which("st")),
                "--config-file",
                str(CONFIG),
                "run",
                f"{web.url}/api/openapi.json",
                "--checks",
                "all",
                "--seed",
                SEED,
                "--max-examples",
                CASES_PER_OPERATION,
                "--generation-database",
                "none",
                "--workers",
                "1",
                "--header",
                f"Authorization: Bearer {token}",
                "--no-color",
                "--output-sanitize",
                "true",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        stack.stop()
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    generated, passed = re.search(r"(\d+) generated, (\d+) passed", report).groups()
    assert int(generated) == int(passed) > 0, report
