"""Correlation IDs and request log lines, through a real daphne process."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import ServiceProcess, start_daphne


@pytest.fixture(scope="module")
def daphne(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = start_daphne(tmp_path_factory.mktemp("daphne"))
    yield service
    service.stop()


def lines_with(service: ServiceProcess, correlation_id: str) -> list[dict]:
    return [line for line in service.log_lines() if line.get("correlation_id") == correlation_id]


def finished_line(service: ServiceProcess, correlation_id: str, event: str = "request_finished"):
    for _ in range(50):
        found = [line for line in lines_with(service, correlation_id) if line["event"] == event]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {event} line for {correlation_id}")


@pytest.mark.parametrize(("path", "status"), [("/", 200), ("/no-such-page", 404)])
def test_a_sane_id_is_taken_echoed_and_logged(
    daphne: ServiceProcess, path: str, status: int
) -> None:
    cid = f"abc-{uuid.uuid4().hex[:8]}"
    response = requests.get(daphne.url + path, headers={"X-Correlation-ID": cid}, timeout=10)
    assert response.status_code == status
    assert response.headers["X-Correlation-ID"] == cid
    line = finished_line(daphne, cid)
    assert line["method"] == "GET"
    assert line["path"] == path
    assert line["status"] == status
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert uuid.UUID(line["request_id"])
    assert [entry["event"] for entry in lines_with(daphne, cid)] == ["request_finished"]


def test_an_unhandled_exception_still_echoes_and_logs_the_id(daphne: ServiceProcess) -> None:
    cid = "boom:1.2_3"
    response = requests.get(
        daphne.url + "/_test/boom", headers={"X-Correlation-ID": cid}, timeout=10
    )
    assert response.status_code == 500
    assert response.headers["X-Correlation-ID"] == cid
    failed = finished_line(daphne, cid, "request_failed")
    assert failed["status"] == 500 and failed["path"] == "/_test/boom"
    assert "deliberate failure for tests" in failed["exception"]
    events = [line["event"] for line in lines_with(daphne, cid)]
    assert events == ["about_to_fail", "request_failed"]


@pytest.mark.parametrize(
    "header",
    ["has spaces", "x" * 129, "semi;colon", "ünïcode", ""],
)
def test_an_insane_id_is_replaced_by_a_uuid(daphne: ServiceProcess, header: str) -> None:
    response = requests.get(
        daphne.url + "/", headers={"X-Correlation-ID": header.encode("utf-8")}, timeout=10
    )
    cid = response.headers["X-Correlation-ID"]
    assert cid != header
    assert uuid.UUID(cid).version == 4
    assert finished_line(daphne, cid)["status"] == 200


def test_x_request_id_is_the_fallback(daphne: ServiceProcess) -> None:
    response = requests.get(daphne.url + "/", headers={"X-Request-ID": "req-77"}, timeout=10)
    assert response.headers["X-Correlation-ID"] == "req-77"


def test_tokens_in_query_strings_are_redacted_in_logs(daphne: ServiceProcess) -> None:
    requests.get(
        daphne.url + "/?token=supersecret&days=3",
        headers={"X-Correlation-ID": "redact-1"},
        timeout=10,
    )
    line = finished_line(daphne, "redact-1")
    assert line["request"] == "GET /?token=REDACTED&days=3"
    assert "supersecret" not in daphne.log_path.read_text()


async def _get(port: int, cid: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Correlation-ID: {cid}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    await writer.drain()
    raw = await reader.read()
    writer.close()
    headers = raw.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    return dict(h.split(": ", 1) for h in headers)["X-Correlation-Id"]


def test_concurrent_requests_keep_their_own_ids(daphne: ServiceProcess) -> None:
    ids = [f"conc-{i}-{uuid.uuid4().hex[:6]}" for i in range(60)]

    async def all_requests() -> list[str]:
        return await asyncio.gather(*(_get(daphne.port, cid) for cid in ids))

    assert asyncio.run(all_requests()) == ids
    for cid in ids:
        lines = lines_with(daphne, cid)
        assert [line["event"] for line in lines] == ["request_finished"]


def test_every_line_is_json(daphne: ServiceProcess, tmp_path: Path) -> None:
    requests.get(daphne.url + "/admin/login/", timeout=10)
    lines = daphne.log_path.read_text().splitlines()
    assert lines
    assert all(line.startswith("{") for line in lines)
    assert len(daphne.log_lines()) == len(lines)
    assert any(line["logger"] == "daphne.server" for line in daphne.log_lines())


def test_machine_endpoints_take_the_short_stack(daphne: ServiceProcess) -> None:
    response = requests.get(
        daphne.url + "/health/live", headers={"X-Correlation-ID": "machine-1"}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["X-Correlation-ID"] == "machine-1"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Cookie" not in response.headers.get("Vary", "")
    line = finished_line(daphne, "machine-1")
    assert (line["path"], line["status"]) == ("/health/live", 200)
    page = requests.get(daphne.url + "/admin/login/", timeout=10)
    assert "csrftoken" in page.cookies  # people's pages keep the full stack


def test_machine_endpoints_check_the_host_header(daphne: ServiceProcess) -> None:
    response = requests.get(
        daphne.url + "/health/live",
        headers={"Host": "evil.example", "X-Correlation-ID": "host-1"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.headers["X-Correlation-ID"] == "host-1"
