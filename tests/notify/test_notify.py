"""Notifications end to end: the worker's notifier loop sends through apprise's `json://` to a real
HTTP server on 127.0.0.1; whales from the real feed, a health change from the sampler's watch, a
new day from the real ingestion; rate limit, full queue, failures, retries, and `notify_test`."""

from __future__ import annotations

import asyncio
import io
import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from prometheus_client import REGISTRY

from health.base import Check, ServiceCheck
from health.report import HealthReport
from health.sampler import StatusWatch
from notify import notifier
from notify.notifier import Notification, Notifier
from prices.ingestion import Outcome, PriceIngestion
from tests.alerts.helpers import eventually, minnow, running_feed, whale
from tests.prices.conftest import (  # noqa: F401 - the price tests' fixtures
    chain,
    chain_server,
    mempool,
    serve,
    serve_recent,
    store_file,
)

WAIT = 30.0
TOKEN = "hook-token-0123456789abcdef"


class Receiver:
    """An HTTP server on 127.0.0.1 that records each JSON POST and answers `status`."""

    def __init__(self) -> None:
        self.posts: queue.Queue[dict[str, Any]] = queue.Queue()
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                receiver.posts.put({"path": self.path, **body})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/{TOKEN}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def next(self) -> dict[str, Any]:
        return self.posts.get(timeout=WAIT)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@contextmanager
def running_notifier(settings, urls: list[str]) -> Iterator[None]:
    """The worker's notifier loop, on an event loop of its own thread, until the block ends."""
    settings.NOTIFY_URLS = tuple(urls)
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def run() -> None:
        holder["loop"] = asyncio.get_running_loop()
        holder["stop"] = asyncio.Event()
        ready.set()
        await notifier.loop(holder["stop"])

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(WAIT)
    try:
        eventually_sync(lambda: notifier._active is not None)
        yield
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(WAIT)
    assert notifier._active is None


def eventually_sync(condition: Any) -> None:
    done = threading.Event()
    for _ in range(int(WAIT / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition never held")


def counted(kind: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("oracle_notifications_total", {"kind": kind, "outcome": outcome})
        or 0.0
    )


@pytest.mark.channel_layer
@pytest.mark.usefixtures("transactional_db")
async def test_a_whale_above_the_threshold_is_posted(simulator, receiver, settings) -> None:
    assert settings.NOTIFY_MIN_BTC == settings.WHALE_MIN_BTC * 10
    small, big = whale(btc=settings.NOTIFY_MIN_BTC / 2), whale(btc=2_000, rbf=True)
    with running_notifier(settings, [receiver.url]):
        async with running_feed(simulator) as feed:
            await simulator.push(added=[small, minnow(), big])
            await eventually(lambda: feed.stats.whales == 2)
            post = await asyncio.to_thread(receiver.next)
    assert post["path"] == f"/{TOKEN}"
    assert post["title"].startswith("Whale: 2,000.00 BTC")
    assert big["txid"] in post["message"] and "signals RBF" in post["message"]
    assert receiver.posts.empty()  # the smaller whale (stored, queued before) was not sent


def test_health_changes_are_posted_with_the_check_and_reason(settings, receiver) -> None:
    class Probe(Check):
        name = "electrs_probe"
        critical = True

    now = datetime.now(UTC)
    ok = ServiceCheck("ok", 3.0, None, now, now)
    down = ServiceCheck("error", 9.0, "detail", now, now, reason="connection failed")
    watch = StatusWatch()
    with running_notifier(settings, [receiver.url]):
        watch.observe(HealthReport([Probe()], {"electrs_probe": ok}, []))  # healthy: quiet
        watch.observe(HealthReport([Probe()], {"electrs_probe": down}, []))
        failed = receiver.next()
        watch.observe(HealthReport([Probe()], {"electrs_probe": down}, []))  # no change
        watch.observe(HealthReport([Probe()], {"electrs_probe": ok}, [now.date()]))
        degraded = receiver.next()
    assert failed["title"] == "oracle is unhealthy (was healthy)"
    assert failed["message"] == "electrs_probe: error, connection failed"
    assert degraded["title"] == "oracle is degraded (was unhealthy)"
    assert degraded["message"] == "1 day(s) without a valid price"
    assert receiver.posts.empty()


def test_the_new_day_is_posted_once_stored(
    settings,
    receiver,
    store_file,  # noqa: F811 - fixtures of tests/prices/conftest.py
    chain,  # noqa: F811
    mempool,  # noqa: F811
) -> None:
    """The latest complete day is posted when stored; an older day recomputed is not."""
    day = chain.chain.days[0]
    with running_notifier(settings, [receiver.url]):
        outcome = PriceIngestion(workers=1, today=day + timedelta(days=1)).compute_and_save(day)
        post = receiver.next()
        older = PriceIngestion(workers=1, today=day + timedelta(days=2)).compute_and_save(day)
        notifier.submit(
            "health", "sentinel", "in order"
        )  # one thread sends in order: nothing before it
        assert receiver.next()["title"] == "sentinel"
    assert outcome.status is Outcome.VALID and older.status is Outcome.VALID
    assert post["title"] == f"BTC/USD {day}: ${outcome.price:,.0f}"
    assert f"On-chain price of {day}: ${outcome.price:,.2f}" in post["message"]
    assert "Exchange price: $" in post["message"]
    assert receiver.posts.empty()


def test_each_kind_is_rate_limited(settings, receiver) -> None:
    settings.NOTIFY_MAX_PER_HOUR = 2
    limited = counted("whale", "limited")
    with running_notifier(settings, [receiver.url]):
        sent = [notifier.submit("whale", f"w{n}", "body") for n in range(4)]
        assert notifier.submit("price_day", "day", "body")  # another kind has its own budget
        titles = sorted(receiver.next()["title"] for _ in range(3))
    assert sent == [True, True, False, False]
    assert titles == ["day", "w0", "w1"]
    assert counted("whale", "limited") == limited + 2


def test_unwanted_kinds_and_no_worker_send_nothing(settings, receiver) -> None:
    settings.NOTIFY_URLS = (receiver.url,)
    assert notifier.submit("whale", "no loop", "body") is False
    settings.NOTIFY_EVENTS = ("health",)
    with running_notifier(settings, [receiver.url]):
        assert notifier.submit("whale", "unwanted", "body") is False


def test_a_full_queue_drops_counts_and_logs(json_logs) -> None:
    dropped = counted("health", "dropped")
    bounded = Notifier(["json://127.0.0.1:9/x"], per_hour=100, retries=0, queue_size=2)
    results = [bounded.submit(Notification("health", str(n), "")) for n in range(3)]
    assert results == [True, True, False]
    assert counted("health", "dropped") == dropped + 1
    assert [line["kind"] for line in json_logs.events("notification_dropped")] == ["health"]


def test_failures_are_retried_counted_and_logged_without_the_url(
    settings, receiver, json_logs
) -> None:
    settings.NOTIFY_URLS = (receiver.url,)
    receiver.status = 500
    failed = counted("whale", "failed")
    sender = Notifier([receiver.url], per_hour=10, retries=2, queue_size=5, retry_delay=0.01)
    assert sender.deliver(Notification("whale", "t", "b")) == [False]
    assert [receiver.next()["title"] for _ in range(3)] == ["t", "t", "t"]  # 1 + 2 retries
    assert counted("whale", "failed") == failed + 1
    (line,) = json_logs.events("notification_failed")
    assert line["url"] == "#1 (json)" and line["attempts"] == 3
    assert TOKEN not in json_logs.stream.getvalue()
    receiver.status = 200
    assert sender.deliver(Notification("whale", "t", "b")) == [True]


def test_notify_test_reports_each_url(settings, receiver) -> None:
    settings.NOTIFY_URLS = (receiver.url, "nosuchservice://x", "json://127.0.0.1:9/closed")
    settings.NOTIFY_RETRIES = 0
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 of 3"):
        call_command("notify_test", stdout=out)
    assert out.getvalue().splitlines() == [
        "#1 (json): sent",
        "#2 (nosuchservice): refused (unknown service or bad URL)",
        "#3 (json): failed",
    ]
    assert receiver.next()["title"] == "oracle test notification"
    settings.NOTIFY_URLS = ()
    with pytest.raises(CommandError, match="NOTIFY_URLS is empty"):
        call_command("notify_test")
