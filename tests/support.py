"""Shared test helpers: free ports, loopback HTTP stub servers, JSON log capture, subprocesses."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from core.logging import structured_formatter

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Hit:
    """One request received by a StubServer."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StubServer:
    """A real HTTP server on 127.0.0.1 whose responses come from a Python function.

    `handler(hit) -> (status, headers, body)`; return `None` to hang until the server stops.
    Every request is recorded in `hits`.
    """

    handler: Callable[[Hit], tuple[int, dict[str, str], bytes] | None]
    hits: list[Hit] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StubServer:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hit = Hit(self.command, self.path, dict(self.headers), self.rfile.read(length))
                stub.hits.append(hit)
                answer = stub.handler(hit)
                if answer is None:
                    stub._stopping.wait(30)
                    return
                status, headers, body = answer
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def json_response(payload: Any, status: int = 200) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def text_response(text: str, status: int = 200) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "text/plain"}, text.encode()


class JsonLogCapture:
    """Captures what the service logs, rendered by the production JSON formatter."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(structured_formatter("json"))

    @property
    def lines(self) -> list[dict[str, Any]]:
        """Every captured line parsed as JSON (a line that is not JSON fails the test)."""
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("event") == name]


@contextmanager
def capture_json_logs() -> Iterator[JsonLogCapture]:
    capture = JsonLogCapture()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(capture.handler)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture.handler)
        root.setLevel(previous)


async def eventually(
    condition: Callable[[], Any], timeout: float = 60.0, interval: float = 0.02
) -> Any:
    """Wait until `condition()` (sync or async) is truthy and return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def wait_for_port(
    port: int, timeout: float = 15.0, process: subprocess.Popen | None = None
) -> None:
    """Wait until something listens on 127.0.0.1:port (or the process dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout}s")


def service_env(**overrides: str) -> dict[str, str]:
    """The environment for a subprocess of the service (test settings, JSON logs)."""
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", LOG_FORMAT="json", PYTHONPATH=str(ROOT))
    env.update(overrides)
    return env


@dataclass
class ServiceProcess:
    """A subprocess of the service whose stderr (the JSON log) goes to a file."""

    process: subprocess.Popen
    log_path: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[dict[str, Any]]:
        text = self.log_path.read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_daphne(tmp_path: Path, *, processes: int = 1, **env: str) -> ServiceProcess:
    """Start real daphne serving oracle.asgi on a free port and wait until it listens: one process,
    or `processes` of them sharing the port through scripts/web.py (what `make run` starts)."""
    port = free_port()
    log_path = tmp_path / f"daphne-{port}.log"
    if processes == 1:
        command = ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "oracle.asgi:application"]
    else:
        command = ["scripts/web.py", "--processes", str(processes), "--port", str(port)]
    process = subprocess.Popen(
        [PYTHON, *command],
        cwd=ROOT,
        env=service_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("w"),
    )
    service = ServiceProcess(process, log_path, port)
    try:
        wait_for_port(port, timeout=60, process=process)
    except Exception:
        service.stop()
        raise RuntimeError(f"daphne did not start: {log_path.read_text()[-2000:]}") from None
    return service


def start_command(tmp_path: Path, *args: str, **env: str) -> ServiceProcess:
    """Start `manage.py ARGS` with its stderr log captured to a file."""
    log_path = tmp_path / f"{args[0]}.log"
    process = subprocess.Popen(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=service_env(**env),
        stdout=subprocess.PIPE,
        stderr=log_path.open("w"),
        text=True,
    )
    return ServiceProcess(process, log_path)
