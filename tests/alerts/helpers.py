"""Helpers for the alerts tests: a running feed against the simulator, waiting for conditions."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from alerts import store
from alerts.detector import FeeLevels, Thresholds, detect, parse_transaction
from alerts.events import ALERT, event_for, publish
from alerts.feed import FeedConfig, MempoolFeed
from simulators.mempool import MempoolSimulator, make_transaction
from tests.support import (
    PYTHON,
    ROOT,
    ServiceProcess,
    eventually,
    free_port,
    service_env,
    wait_for_port,
)

RNG = random.Random(20240601)


def whale(btc: float = 500.0, **kwargs: Any) -> dict[str, Any]:
    return make_transaction(RNG, btc=btc, **kwargs)


def minnow(**kwargs: Any) -> dict[str, Any]:
    return make_transaction(RNG, btc=0.05, **kwargs)


def feed_config(simulator: MempoolSimulator, **overrides: Any) -> FeedConfig:
    values: dict[str, Any] = {
        "ws_url": simulator.ws_url,
        "http_url": simulator.url,
        "thresholds": Thresholds(100.0),
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
        "stats_interval": 0.1,
        "stats_log_interval": 0.2,
    }
    values.update(overrides)
    return FeedConfig(**values)


@asynccontextmanager
async def running_feed(
    simulator: MempoolSimulator,
    *,
    wait_for_tracking: bool = True,
    wait_for_baseline: bool = True,
    **overrides: Any,
) -> AsyncIterator[MempoolFeed]:
    """A feed following the simulator, connected and past its first sync (unless told not to
    wait for those)."""
    feed = MempoolFeed(feed_config(simulator, **overrides))
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(stop))
    try:
        if wait_for_tracking:
            await simulator.wait_for_tracking()
        if wait_for_baseline:
            await eventually(lambda: feed.has_baseline)
        yield feed
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


FEES = FeeLevels(fastest=20, half_hour=12, hour=8, economy=4, minimum=1)


def stored_alert(btc: float = 500.0, rbf: bool = False, usd_price: float | None = 60_000.0):
    """Detect and store a whale (blocking); the stored row."""
    raw = whale(btc=btc, rbf=rbf)
    alert = detect(
        parse_transaction(raw), Thresholds(1.0), usd_price=usd_price, fees=FEES, seen_at=time.time()
    )
    return store.save_alert(alert)


async def inject(btc: float = 500.0, rbf: bool = False, *, announce: bool = True, **kwargs: Any):
    """Store a whale and publish it, as the feed does; the stored row."""
    row = await database_sync_to_async(stored_alert)(btc, rbf, **kwargs)
    if announce:
        await publish(event_for(row, ALERT))
    return row


def connect_ws(
    query: str = "",
    *,
    subprotocols: list[str] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    client: tuple[str, int] | None = None,
) -> WebsocketCommunicator:
    """A communicator for /ws/alerts/ through the whole ASGI stack (from `client` when given)."""
    from oracle.asgi import application

    app = application
    if client is not None:

        async def app(scope, receive, send):
            return await application({**scope, "client": client}, receive, send)

    path = "/ws/alerts/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(app, path, headers=headers, subprotocols=subprotocols)


async def next_frame(communicator: WebsocketCommunicator, timeout: float = 3.0) -> dict[str, Any]:
    """The next server message as JSON, or {"closed": code} when the server closed."""
    output = await communicator.receive_output(timeout)
    if output["type"] == "websocket.close":
        return {"closed": output.get("code")}
    return json.loads(output["text"])


async def frame_of_type(
    communicator: WebsocketCommunicator, kind: str, timeout: float = 3.0
) -> dict[str, Any]:
    """Skip heartbeats until a message of `kind` arrives."""
    while True:
        frame = await next_frame(communicator, timeout)
        if frame.get("type") == kind or "closed" in frame:
            return frame


async def subscriber(token: str, **subscribe: Any) -> WebsocketCommunicator:
    """A connected, subscribed communicator (welcome and subscribed consumed)."""
    communicator = connect_ws(f"token={token}")
    connected, _ = await communicator.connect()
    assert connected
    assert (await next_frame(communicator))["type"] == "welcome"
    await communicator.send_json_to({"type": "subscribe", **subscribe})
    assert (await next_frame(communicator))["type"] == "subscribed"
    return communicator


class Stack:
    """Real processes of the service sharing one SQLite file: migrate, worker, daphne, commands."""

    def __init__(self, tmp_path: Path, *, redis_url: str | None = None, **env: str) -> None:
        self.tmp_path = tmp_path
        self.env = service_env(
            ORACLE_DATA_DIR=str(tmp_path),
            DATABASE_URL=f"sqlite:///{tmp_path / 'oracle.sqlite3'}",
            **env,
        )
        self.env.pop("REDIS_URL", None)
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.processes: list[ServiceProcess] = []

    def run(self, *args: str) -> str:
        """Run `manage.py ARGS` to completion; its stdout."""
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def start(self, name: str, argv: list[str], port: int | None = None) -> ServiceProcess:
        log_path = self.tmp_path / f"{name}.log"
        process = subprocess.Popen(
            [PYTHON, *argv],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=log_path.open("w"),
        )
        service = ServiceProcess(process, log_path, port)
        self.processes.append(service)
        if port is not None:
            try:
                wait_for_port(port, timeout=60, process=process)
            except Exception:
                raise RuntimeError(
                    f"{name} did not start: {log_path.read_text()[-2000:]}"
                ) from None
        return service

    def daphne(self, *extra: str, port: int | None = None) -> ServiceProcess:
        port = port or free_port()
        argv = [
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            *extra,
            "oracle.asgi:application",
        ]
        return self.start(f"daphne-{port}", argv, port)

    def worker(self) -> ServiceProcess:
        return self.start("worker", ["manage.py", "run_worker", "--only", "feed"])

    def stop(self) -> None:
        for service in self.processes:
            service.stop()
