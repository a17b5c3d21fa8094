"""Fixtures of the prices tests: a throw-away store path per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def store_file(tmp_path: Path, settings) -> Path:
    """settings.DUCKDB_PATH pointed at a file (not created) in the test's own folder."""
    path = tmp_path / "store" / "prices.duckdb"
    settings.DUCKDB_PATH = path
    return path
