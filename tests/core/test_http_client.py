"""The shared outbound HTTP client against real loopback servers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from core.http import USER_AGENT, UpstreamError, fetch, http_session
from core.logging import correlation_scope
from tests.support import Hit, StubServer, free_port, json_response, text_response


@pytest.fixture
def stub() -> Iterator[StubServer]:
    responses: list = []

    def handler(hit: Hit):
        return responses.pop(0) if responses else text_response("ok")

    server = StubServer(handler).start()
    server.responses = responses  # type: ignore[attr-defined]
    yield server
    server.stop()


def test_sends_the_current_correlation_id_and_user_agent(stub: StubServer) -> None:
    session = http_session()
    with correlation_scope("cid-outbound-1"):
        session.get(f"{stub.url}/blocks/tip/height")
    session.get(f"{stub.url}/no-context")
    assert stub.hits[0].headers["X-Correlation-ID"] == "cid-outbound-1"
    assert stub.hits[0].headers["User-Agent"] == USER_AGENT
    assert "X-Correlation-ID" not in stub.hits[1].headers


def test_an_explicit_header_wins(stub: StubServer) -> None:
    with correlation_scope("from-context"):
        http_session().get(stub.url, headers={"X-Correlation-ID": "explicit"})
    assert stub.hits[0].headers["X-Correlation-ID"] == "explicit"


def test_get_is_retried_on_503_then_succeeds(stub: StubServer) -> None:
    stub.responses.extend([text_response("busy", 503), text_response("busy", 502)])  # type: ignore[attr-defined]
    _, body = fetch(http_session(retries=2, backoff=0), "electrs", "GET", f"{stub.url}/x")
    assert body == b"ok"
    assert len(stub.hits) == 3


def test_retries_are_bounded(stub: StubServer) -> None:
    stub.responses.extend([text_response("busy", 503)] * 5)  # type: ignore[attr-defined]
    with pytest.raises(UpstreamError, match=r"^electrs: /x: HTTP 503$"):
        fetch(http_session(retries=2, backoff=0), "electrs", "GET", f"{stub.url}/x")
    assert len(stub.hits) == 3


def test_post_is_not_retried(stub: StubServer) -> None:
    stub.responses.append(text_response("busy", 503))  # type: ignore[attr-defined]
    with pytest.raises(UpstreamError, match="HTTP 503"):
        fetch(http_session(retries=3, backoff=0), "bitcoind", "POST", f"{stub.url}/", data=b"{}")
    assert len(stub.hits) == 1


def test_a_hanging_server_times_out_within_the_read_timeout() -> None:
    server = StubServer(lambda hit: None).start()
    try:
        session = http_session(read_timeout=0.3, retries=1, backoff=0)
        started = time.monotonic()
        with pytest.raises(UpstreamError, match=r"^mempool: /api/v1/prices: timed out$"):
            fetch(session, "mempool", "GET", f"{server.url}/api/v1/prices")
        assert time.monotonic() - started < 10  # the server would hang for 30 s
        assert len(server.hits) == 2
    finally:
        server.stop()


def test_connection_refused_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/blocks/tip/height"
    with pytest.raises(UpstreamError) as error:
        fetch(http_session(retries=0), "electrs", "GET", url)
    assert str(error.value).startswith("electrs: /blocks/tip/height: connection failed (")
    assert "Connection refused" in error.value.reason


def test_credentials_never_appear_in_errors(stub: StubServer) -> None:
    stub.responses.append(text_response("no", 401))  # type: ignore[attr-defined]
    url = f"http://alice:s3cret@127.0.0.1:{stub.port}/rpc?token=abc"
    with pytest.raises(UpstreamError) as error:
        fetch(http_session(), "bitcoind", "GET", url)
    assert "s3cret" not in str(error.value) and "alice" not in str(error.value)
    assert str(error.value) == "bitcoind: /rpc: HTTP 401"


def test_bodies_over_the_cap_are_refused(stub: StubServer) -> None:
    stub.responses.append(json_response({"data": "x" * 5000}))  # type: ignore[attr-defined]
    with pytest.raises(UpstreamError, match="exceeds the 1024-byte limit"):
        fetch(http_session(), "mempool", "GET", f"{stub.url}/big", limit=1024)


def test_bodies_without_a_length_are_capped_while_reading() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"y" * 4096)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        with pytest.raises(UpstreamError, match="response body exceeds the 1000-byte limit"):
            fetch(http_session(), "electrs", "GET", f"http://127.0.0.1:{port}/raw", limit=1000)
    finally:
        listener.close()


def test_a_body_shorter_than_its_declared_length_is_an_error() -> None:
    """A connection closed before the declared length is not a complete (shorter) answer."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"z" * 3000)

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/rest/block/00.bin"
    try:
        with pytest.raises(UpstreamError, match="ended after 3000 of 5000 bytes"):
            fetch(http_session(retries=0), "bitcoind", "GET", url)
    finally:
        listener.close()


def test_accepted_statuses_can_be_widened(stub: StubServer) -> None:
    stub.responses.append(json_response({"error": "x"}, 500))  # type: ignore[attr-defined]
    response, body = fetch(
        http_session(retries=0), "bitcoind", "POST", stub.url, ok_statuses=(200, 500)
    )
    assert response.status_code == 500
    assert body == b'{"error": "x"}'


@pytest.fixture(params=["body", "headers"])
def trickle(request) -> Iterator[str]:
    """A server that sends one byte every 0.1 s: of a long body after its headers, or of
    endless headers."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            if request.param == "body":
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            else:
                connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.wait(0.1):
                try:
                    connection.sendall(b"x")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
    thread.join(5)


def test_a_trickling_answer_is_cut_off_at_the_deadline(trickle: str) -> None:
    """Finding 10: one byte now and then held a call far past its read timeout."""
    session = http_session(read_timeout=5, retries=0)
    started = time.monotonic()
    with pytest.raises(UpstreamError, match=r"^mempool: /slow: the answer did not arrive in time"):
        fetch(session, "mempool", "GET", f"{trickle}/slow", deadline=0.5)
    assert time.monotonic() - started < 60  # the whole body would take 100 s


def test_proxy_variables_apply_to_every_call_of_a_session(stub: StubServer, monkeypatch) -> None:
    """The environment's proxies are read once per origin, and used for every call to it; an
    origin in NO_PROXY is reached directly."""
    monkeypatch.setenv("HTTP_PROXY", stub.url)
    monkeypatch.setenv("NO_PROXY", "direct.invalid")
    session = http_session(retries=0)
    for _ in range(2):
        fetch(session, "esplora", "GET", "http://esplora.invalid:3000/blocks/tip/height")
    assert [hit.path for hit in stub.hits] == ["http://esplora.invalid:3000/blocks/tip/height"] * 2
    with pytest.raises(UpstreamError, match="connection failed"):
        fetch(session, "esplora", "GET", "http://direct.invalid/blocks/tip/height")
    assert len(stub.hits) == 2
