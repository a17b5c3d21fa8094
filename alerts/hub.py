"""One alert hub per web process: it receives each alert event once and hands it to every local
subscriber session.

Events come from the channel layer group (published by the worker after storing). The hub also
polls the store for new alerts and status changes: every `relay_poll_seconds` with the in-memory
layer, which does not cross processes, and every `safety_poll_seconds` with a shared layer, so that
alerts still arrive if the layer loses the group (a Redis restart). Sessions drop what they have
already seen, so an event arriving both ways is sent once. Price events come from the hub's watch
of the price store (`alerts.price_events`), handed to every session like alert events.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

import structlog
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.utils import timezone

from alerts import store
from alerts.events import ALERT, GROUP, UPDATE, AlertEvent, event_for
from alerts.limits import SubscriberLimits
from alerts.price_events import PRICE_POLL_SECONDS, PriceEvent, PriceWatch
from core.db import run_orm

log = structlog.get_logger(__name__)

GROUP_RENEW_SECONDS = 60.0  # channels_redis forgets group members after a day, Redis on restart
RECEIVE_RETRY_SECONDS = 0.5
RELAY_BATCH = 500
DISPATCH_CHUNK = 50  # events handed out before sessions write; at most a quarter of their queue


class Subscriber(Protocol):
    def offer(self, event: AlertEvent | PriceEvent) -> None: ...


class AlertHub:
    """Fan-out of alert events to the sessions of this process (one hub per event loop)."""

    def __init__(self, limits: SubscriberLimits) -> None:
        self.sessions: set[Subscriber] = set()
        self.limits = limits
        self.chunk = max(1, min(DISPATCH_CHUNK, int(limits.client_queue) // 4))
        self._tasks: list[asyncio.Task] = []
        self._layer = get_channel_layer()
        self._channel: str | None = None
        self._lock = asyncio.Lock()

    async def join(self, session: Subscriber) -> None:
        async with self._lock:
            self.sessions.add(session)
            if not self._tasks:
                await self._start()

    async def leave(self, session: Subscriber) -> None:
        async with self._lock:
            self.sessions.discard(session)
            if not self.sessions and self._tasks:
                await self._stop()

    def dispatch(self, event: AlertEvent | PriceEvent) -> None:
        for session in list(self.sessions):
            session.offer(event)

    async def dispatch_all(self, events: Iterable[AlertEvent | PriceEvent]) -> None:
        """Dispatch a burst in chunks, letting the sessions write between chunks: each socket
        gets a chunk in one write, and no session queue fills up from one burst."""
        for count, event in enumerate(events, 1):
            self.dispatch(event)
            if count % self.chunk == 0:
                await asyncio.sleep(0)

    async def _start(self) -> None:
        if self._layer is not None:
            self._channel = await self._layer.new_channel()
            await self._layer.group_add(GROUP, self._channel)
            self._tasks.append(asyncio.create_task(self._listen(self._channel)))
            self._tasks.append(asyncio.create_task(self._renew_membership(self._channel)))
        interval = self.limits.relay_poll_seconds
        if self._layer is not None and not isinstance(self._layer, InMemoryChannelLayer):
            interval = self.limits.safety_poll_seconds
        cursor = await run_orm(_relay_start)
        self._tasks.append(asyncio.create_task(self._relay(interval, *cursor)))
        watch = PriceWatch()
        await self._poll_prices(watch)  # the first look: what the store holds now is not news
        self._tasks.append(asyncio.create_task(self._watch_prices(watch)))

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._layer is not None and self._channel is not None:
            await self._layer.group_discard(GROUP, self._channel)
            self._channel = None

    async def _listen(self, channel: str) -> None:
        for count in itertools.count(1):
            try:
                message = await self._layer.receive(channel)
            except Exception:  # a Redis timeout or restart must not end the listener
                log.exception("alert_hub_receive_failed")
                await asyncio.sleep(RECEIVE_RETRY_SECONDS)
                continue
            self.dispatch(AlertEvent.from_message(message))
            if count % self.chunk == 0:
                await asyncio.sleep(0)

    async def _renew_membership(self, channel: str) -> None:
        while True:
            await asyncio.sleep(GROUP_RENEW_SECONDS)
            try:
                await self._layer.group_add(GROUP, channel)
            except Exception:
                log.exception("alert_hub_group_renewal_failed")

    async def _relay(self, interval: float, last_id: int, since: datetime) -> None:
        seen_at_since: set[tuple[int, str]] = set()
        while True:
            await asyncio.sleep(interval)
            try:
                new, changed = await run_orm(_relay_poll, last_id, since)
            except Exception:  # a database hiccup must not end the relay
                log.exception("alert_relay_poll_failed")
                continue
            if new:
                last_id = new[-1].id
                await self.dispatch_all(event_for(row, ALERT) for row in new)
            updates = []
            for row in changed:
                key = (row.id, row.status)
                if row.status_changed_at > since:
                    since, seen_at_since = row.status_changed_at, set()
                if key not in seen_at_since:
                    seen_at_since.add(key)
                    updates.append(event_for(row, UPDATE))
            await self.dispatch_all(updates)

    async def _watch_prices(self, watch: PriceWatch) -> None:
        while True:
            await asyncio.sleep(PRICE_POLL_SECONDS)
            await self.dispatch_all(await self._poll_prices(watch))

    async def _poll_prices(self, watch: PriceWatch) -> list[PriceEvent]:
        try:
            return await asyncio.to_thread(watch.poll)
        except Exception:  # an unreadable price store must not end the watch
            log.exception("price_watch_failed")
            return []


def _relay_start() -> tuple[int, datetime]:
    return store.latest_alert_id(), timezone.now()


def _relay_poll(last_id: int, since: datetime) -> tuple[list, list]:
    return store.alerts_after(last_id, RELAY_BATCH), store.changed_after(since, RELAY_BATCH)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AlertHub] = weakref.WeakKeyDictionary()


def hub_for_this_loop(limits: SubscriberLimits) -> AlertHub:
    """The process's hub (one per event loop, created on first use with these limits)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = AlertHub(limits)
    return hub
