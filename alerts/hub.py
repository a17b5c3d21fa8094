"""One alert hub per web process: it receives each alert event once and hands it to every local
subscriber session.

Events come from the channel layer group (published by the worker after storing). The in-memory
channel layer does not cross processes, so with it the hub also polls the store for new alerts and
status changes (every `relay_poll_seconds`). Sessions drop what they have already seen, so an
event arriving both ways is sent once.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import datetime
from typing import Protocol

import structlog
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.utils import timezone

from alerts import store
from alerts.events import ALERT, GROUP, UPDATE, AlertEvent, event_for

log = structlog.get_logger(__name__)

GROUP_RENEW_SECONDS = 3600.0  # channels_redis forgets group members after a day
RELAY_BATCH = 500


class Subscriber(Protocol):
    def offer(self, event: AlertEvent) -> None: ...


class AlertHub:
    """Fan-out of alert events to the sessions of this process (one hub per event loop)."""

    def __init__(self, relay_poll_seconds: float) -> None:
        self.sessions: set[Subscriber] = set()
        self.relay_poll_seconds = relay_poll_seconds
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

    def dispatch(self, event: AlertEvent) -> None:
        for session in list(self.sessions):
            session.offer(event)

    async def dispatch_and_yield(self, event: AlertEvent) -> None:
        """Dispatch, then let the sessions write it before the next one (bursts stay short)."""
        self.dispatch(event)
        await asyncio.sleep(0)

    async def _start(self) -> None:
        if self._layer is not None:
            self._channel = await self._layer.new_channel()
            await self._layer.group_add(GROUP, self._channel)
            self._tasks.append(asyncio.create_task(self._listen(self._channel)))
            self._tasks.append(asyncio.create_task(self._renew_membership(self._channel)))
        if self._layer is None or isinstance(self._layer, InMemoryChannelLayer):
            cursor = await database_sync_to_async(_relay_start)()
            self._tasks.append(asyncio.create_task(self._relay(*cursor)))

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._layer is not None and self._channel is not None:
            await self._layer.group_discard(GROUP, self._channel)
            self._channel = None

    async def _listen(self, channel: str) -> None:
        while True:
            await self.dispatch_and_yield(
                AlertEvent.from_message(await self._layer.receive(channel))
            )

    async def _renew_membership(self, channel: str) -> None:
        while True:
            await asyncio.sleep(GROUP_RENEW_SECONDS)
            await self._layer.group_add(GROUP, channel)

    async def _relay(self, last_id: int, since: datetime) -> None:
        seen_at_since: set[tuple[int, str]] = set()
        while True:
            await asyncio.sleep(self.relay_poll_seconds)
            try:
                new, changed = await database_sync_to_async(_relay_poll)(last_id, since)
            except Exception:  # a database hiccup must not end the relay
                log.exception("alert_relay_poll_failed")
                continue
            for row in new:
                await self.dispatch_and_yield(event_for(row, ALERT))
                last_id = row.id
            for row in changed:
                key = (row.id, row.status)
                if row.status_changed_at > since:
                    since, seen_at_since = row.status_changed_at, set()
                if key not in seen_at_since:
                    seen_at_since.add(key)
                    await self.dispatch_and_yield(event_for(row, UPDATE))


def _relay_start() -> tuple[int, datetime]:
    return store.latest_alert_id(), timezone.now()


def _relay_poll(last_id: int, since: datetime) -> tuple[list, list]:
    return store.alerts_after(last_id, RELAY_BATCH), store.changed_after(since, RELAY_BATCH)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AlertHub] = weakref.WeakKeyDictionary()


def hub_for_this_loop(relay_poll_seconds: float) -> AlertHub:
    """The process's hub (one per event loop, created on first use)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = AlertHub(relay_poll_seconds)
    return hub
