"""bench/bench_http.py's references start under daphne and serve the bytes they are given (the
bench itself is run by hand)."""

from __future__ import annotations

import http.client
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import bench_http  # noqa: E402

ANSWER = {
    "status": 200,
    "headers": {"Content-Type": "application/json", "ETag": '"abc"'},
    "body": '{"price": 1}',
}


@pytest.mark.parametrize("app", ["http_reference:bare", "http_reference:django_floor"])
def test_a_reference_serves_the_answer_and_304(tmp_path: Path, app: str) -> None:
    responses = tmp_path / "responses.json"
    responses.write_text(json.dumps({"/api/prices/latest": ANSWER}))
    process, port = bench_http.start_server(
        app, bench_http.reference_env(responses), tmp_path / "daphne.log"
    )
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/api/prices/latest")
        first = connection.getresponse()
        assert (first.status, first.read()) == (200, b'{"price": 1}')
        assert first.headers["ETag"] == '"abc"'
        connection.request("GET", "/api/prices/latest", headers={"If-None-Match": '"abc"'})
        again = connection.getresponse()
        assert (again.status, again.read()) == (304, b"")
    finally:
        process.terminate()
        process.wait(10)


def test_the_bench_says_when_wrk_is_missing(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder without wrk
    with pytest.raises(SystemExit, match="apt-get install wrk"):
        bench_http.require_wrk()
