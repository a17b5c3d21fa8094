"""One alert hub per web process: it receives each alert event once and hands it to every local
subscriber session.

Events come from the channel layer group (published by the worker after storing). The hub also
polls the store for new alerts and status changes: every `relay_poll_seconds` with the in-memory
layer, which does not cross processes, and every `safety_poll_seconds` with a shared layer, so that
alerts still arrive if the layer loses the group (a Redis restart). Sessions drop alerts they have
passed and the hub drops a status change it has handed out already, so an event arriving both ways
is sent once.

Every `session_check_seconds` the hub checks the credentials of all its sessions in one pass
(`alerts.credentials`) and tells each the outcome: a heartbeat, or the reason it is closed.

Events are handed out in runs (`alerts.delivery.Delivery`): everything that arrived since the last
run, at most one run every DISPATCH_INTERVAL, in chunks of at most a quarter of a session's queue.
A burst thus reaches each socket in a few writes, and a subscriber that asked for batches in a few
frames, while a single alert is handed out at once.

Price events come from the hub's own watch of the price store (`alerts.price_events`) and go to
the sessions that asked for them, apart from the ordered alerts.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

import structlog
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.utils import timezone

from alerts import credentials, store
from alerts.credentials import Holder, Refusal
from alerts.delivery import Delivery
from alerts.events import ALERT, GROUP, UPDATE, AlertEvent, event_for
from alerts.limits import SubscriberLimits
from alerts.price_events import PRICE_POLL_SECONDS, PriceEvent, PriceWatch
from alerts.protocol import BATCH_MAX_ALERTS
from core.db import run_orm
from core.metrics import SUBSCRIBERS

log = structlog.get_logger(__name__)

GROUP_RENEW_SECONDS = 60.0  # channels_redis forgets group members after a day, Redis on restart
RECEIVE_RETRY_SECONDS = 0.5
RELAY_BATCH = 500
DISPATCH_INTERVAL = 0.02  # seconds between two runs: a burst from Redis gathers meanwhile
UPDATES_REMEMBERED = 10_000  # status changes (alert id, status) recognised when they come again


class Subscriber(Protocol):
    holder: Holder | None

    def offer(self, delivery: Delivery) -> None: ...

    def checked(self, refusal: Refusal | None) -> None: ...

    def offer_price(self, event: PriceEvent) -> None: ...


class AlertHub:
    """Fan-out of alert events to the sessions of this process (one hub per event loop)."""

    def __init__(self, limits: SubscriberLimits) -> None:
        self.sessions: set[Subscriber] = set()
        self.limits = limits
        self.chunk = max(1, min(BATCH_MAX_ALERTS, int(limits.client_queue) // 4))
        self._tasks: list[asyncio.Task] = []
        self._layer = get_channel_layer()
        self._channel: str | None = None
        self._lock = asyncio.Lock()
        self._pending: list[AlertEvent] = []
        self._arrived = asyncio.Event()
        self._updates_seen: OrderedDict[tuple[int, str], None] = OrderedDict()

    async def join(self, session: Subscriber) -> None:
        async with self._lock:
            if session not in self.sessions:
                SUBSCRIBERS.inc()
            self.sessions.add(session)
            if not self._tasks:
                await self._start()

    async def leave(self, session: Subscriber) -> None:
        async with self._lock:
            if session in self.sessions:
                SUBSCRIBERS.dec()
            self.sessions.discard(session)
            if not self.sessions and self._tasks:
                await self._stop()

    def receive(self, events: Iterable[AlertEvent]) -> None:
        """Queue events for the next run; a status change handed out before is dropped."""
        for event in events:
            if event.kind == UPDATE:
                key = (event.id, event.status)
                if key in self._updates_seen:
                    continue
                self._updates_seen[key] = None
                if len(self._updates_seen) > UPDATES_REMEMBERED:
                    self._updates_seen.popitem(last=False)
            self._pending.append(event)
        if self._pending:
            self._arrived.set()

    def dispatch(self, events: Sequence[AlertEvent]) -> None:
        """Hand one run of events to every session now."""
        delivery = Delivery(events)
        for session in list(self.sessions):
            try:
                session.offer(delivery)
            except Exception:  # one broken socket must not stop the others' alerts
                log.exception("alert_dispatch_failed")

    async def _start(self) -> None:
        self._tasks.append(asyncio.create_task(self._dispatch_runs()))
        self._tasks.append(asyncio.create_task(self._check_credentials()))
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
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._pending.clear()
        if self._layer is not None and self._channel is not None:
            await self._layer.group_discard(GROUP, self._channel)
            self._channel = None

    async def _dispatch_runs(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            events, self._pending = self._pending, []
            for start in range(0, len(events), self.chunk):
                self.dispatch(events[start : start + self.chunk])
                await asyncio.sleep(0)  # the sessions' own tasks write between chunks
            await asyncio.sleep(DISPATCH_INTERVAL)

    async def _check_credentials(self) -> None:
        while True:
            await asyncio.sleep(self.limits.session_check_seconds)
            sessions = [session for session in self.sessions if session.holder is not None]
            try:
                refusals = await run_orm(credentials.refusals, [s.holder for s in sessions])
            except Exception:  # a database hiccup: check again next period
                log.exception("subscriber_check_failed")
                continue
            for session, refusal in zip(sessions, refusals, strict=True):
                session.checked(refusal)

    async def _listen(self, channel: str) -> None:
        while True:
            try:
                message = await self._layer.receive(channel)
            except Exception:  # a Redis timeout or restart must not end the listener
                log.exception("alert_hub_receive_failed")
                await asyncio.sleep(RECEIVE_RETRY_SECONDS)
                continue
            self.receive([AlertEvent.from_message(message)])

    async def _renew_membership(self, channel: str) -> None:
        while True:
            await asyncio.sleep(GROUP_RENEW_SECONDS)
            try:
                await self._layer.group_add(GROUP, channel)
            except Exception:
                log.exception("alert_hub_group_renewal_failed")

    async def _relay(self, interval: float, last_id: int, since: datetime) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                new, changed = await run_orm(_relay_poll, last_id, since)
            except Exception:  # a database hiccup must not end the relay
                log.exception("alert_relay_poll_failed")
                continue
            if new:
                last_id = new[-1].id
            if changed:  # changes at `since` come again next time; the hub knows them
                since = changed[-1].status_changed_at
            self.receive(
                [event_for(row, ALERT) for row in new] + [event_for(row, UPDATE) for row in changed]
            )

    async def _watch_prices(self, watch: PriceWatch) -> None:
        while True:
            await asyncio.sleep(PRICE_POLL_SECONDS)
            for event in await self._poll_prices(watch):
                for session in list(self.sessions):
                    session.offer_price(event)

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
