"""The /api/docs page renders the OpenAPI document in a real (headless) browser, offline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from core.openapi import openapi_document
from tests.support import start_daphne

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium")
def test_the_docs_page_lists_every_operation(tmp_path: Path) -> None:
    web = start_daphne(tmp_path, DUCKDB_PATH=str(tmp_path / "prices.duckdb"))
    try:
        dom = subprocess.run(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                f"{web.url}/api/docs",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    finally:
        web.stop()
    for path in openapi_document()["paths"]:
        assert f'<span class="path">{path}</span>' in dom
    assert "Could not load" not in dom
