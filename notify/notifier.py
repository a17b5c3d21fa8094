"""The notifier: a bounded queue and one sending thread, run by the worker's `notifier` loop.

`submit()` never blocks the feed, the sampler or the scheduler: a notification over its kind's
NOTIFY_MAX_PER_HOUR is counted `limited`, one that finds the queue (NOTIFY_QUEUE) full is counted
`dropped` and logged. The thread sends each notification to every URL of NOTIFY_URLS through
apprise, retrying a URL up to NOTIFY_RETRIES times (after 1 s, 2 s, 4 s, …); a URL that still
fails is logged by its position and scheme only (its path and credentials may be secrets) and
the notification is counted `failed`. Outside the worker (no loop running) `submit()` does
nothing.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from django.conf import settings

from core.metrics import NOTIFICATIONS
from core.redaction import redact

log = structlog.get_logger(__name__)

KINDS = ("whale", "health", "price_day")
HOUR = 3600.0
STOP_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Notification:
    kind: str
    title: str
    body: str


def describe(index: int, url: str) -> str:
    """How logs and reports name a URL: its position and scheme, nothing that may be secret."""
    return f"#{index + 1} ({url.split('://', 1)[0]})"


def accepted(url: str) -> bool:
    """Whether apprise knows the URL's service and can parse it."""
    import apprise  # loaded by the processes that send, not by every command

    return bool(apprise.Apprise().add(url))


def send_to(url: str, note: Notification) -> bool:
    """One attempt to deliver a notification to one URL (blocking)."""
    import apprise

    target = apprise.Apprise()
    if not target.add(url):
        return False
    return bool(target.notify(title=note.title, body=note.body))


class RateLimit:
    """At most `per_hour` notifications of each kind in any hour."""

    def __init__(self, per_hour: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour = per_hour
        self.clock = clock
        self.sent: dict[str, deque[float]] = {}

    def allow(self, kind: str) -> bool:
        now = self.clock()
        times = self.sent.setdefault(kind, deque())
        while times and now - times[0] >= HOUR:
            times.popleft()
        if len(times) >= self.per_hour:
            return False
        times.append(now)
        return True


class Notifier:
    """The queue, the rate limit and the delivery of notifications to every URL."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        per_hour: int,
        retries: int,
        queue_size: int,
        retry_delay: float = 1.0,
    ) -> None:
        self.urls = tuple(urls)
        self.retries = retries
        self.retry_delay = retry_delay
        self.limit = RateLimit(per_hour)
        self.queue: queue.Queue[Notification] = queue.Queue(maxsize=queue_size)
        self.done = threading.Event()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls) -> Notifier:
        return cls(
            settings.NOTIFY_URLS,
            per_hour=settings.NOTIFY_MAX_PER_HOUR,
            retries=settings.NOTIFY_RETRIES,
            queue_size=settings.NOTIFY_QUEUE,
        )

    def submit(self, note: Notification) -> bool:
        """Queue a notification unless rate-limited or the queue is full; never blocks."""
        with self._lock:
            allowed = self.limit.allow(note.kind)
        if not allowed:
            NOTIFICATIONS.labels(note.kind, "limited").inc()
            log.info("notification_limited", kind=note.kind, per_hour=self.limit.per_hour)
            return False
        try:
            self.queue.put_nowait(note)
        except queue.Full:
            NOTIFICATIONS.labels(note.kind, "dropped").inc()
            log.warning("notification_dropped", kind=note.kind, queue=self.queue.maxsize)
            return False
        return True

    def deliver(self, note: Notification) -> list[bool]:
        """Send to every URL, each with its retries; per URL, whether it arrived."""
        arrived = [self.deliver_to(index, url, note) for index, url in enumerate(self.urls)]
        NOTIFICATIONS.labels(note.kind, "sent" if all(arrived) else "failed").inc()
        return arrived

    def deliver_to(self, index: int, url: str, note: Notification) -> bool:
        """Send to one URL, retrying; whether it arrived."""
        error = "not delivered"
        for attempt in range(self.retries + 1):
            if attempt and self.done.wait(self.retry_delay * 2 ** (attempt - 1)):
                break
            try:
                if send_to(url, note):
                    log.info("notification_sent", kind=note.kind, url=describe(index, url))
                    return True
            except Exception as exc:  # a broken service plugin must not stop the thread
                error = redact(repr(exc))
        log.warning(
            "notification_failed",
            kind=note.kind,
            url=describe(index, url),
            attempts=attempt + 1,
            error=error,
        )
        return False

    def run(self) -> None:
        """The sending thread: deliver queued notifications until `done` is set."""
        while not self.done.is_set():
            try:
                note = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.deliver(note)


_active: Notifier | None = None


def submit(kind: str, title: str, body: str) -> bool:
    """Hand a notification to the running notifier, if any and if its kind is wanted."""
    notifier = _active
    if notifier is None or kind not in settings.NOTIFY_EVENTS:
        return False
    return notifier.submit(Notification(kind, title, body))


async def loop(stop: asyncio.Event) -> None:
    """While the worker runs, the notifier's thread sends what the other loops submit."""
    global _active
    if not settings.NOTIFY_URLS:
        await stop.wait()
        return
    notifier = Notifier.from_settings()
    for index, url in enumerate(notifier.urls):
        if not accepted(url):
            log.warning("notification_url_refused", url=describe(index, url))
    thread = threading.Thread(target=notifier.run, name="notifier", daemon=True)
    thread.start()
    _active = notifier
    try:
        await stop.wait()
    finally:
        _active = None
        notifier.done.set()
        await asyncio.to_thread(thread.join, STOP_WAIT_SECONDS)
