"""One subscriber connection: authentication, client messages, filters, replay and live delivery.

Delivery is ordered by alert id. `cursor` is the last alert id this session has passed (sent, or
skipped by the filters): a live event at or below it is a duplicate and dropped; one beyond
`cursor + 1` means something was missed (replay in progress, a full channel) and the session
catches up from the store first. So replay followed by live has no gap and no duplicate.

Slow clients: events wait in the session's own queue (at most `client_queue`); the socket is not
written while the server's write buffer for it is full (see `alerts.backpressure`). When the queue
overflows, the client gets `{"type": "lag", "last_id": N}` and, once that has drained (at most 10 s),
the connection is closed with 4409; it resumes with `since_id: N`, N being the last alert it
received (so a client cut off for any reason resumes the same way). Nothing one client does delays
another.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from django.contrib.auth import get_user_model

from alerts import protocol, store, tokens
from alerts.backpressure import watch_writes
from alerts.events import ALERT, UPDATE, AlertEvent, event_for
from alerts.hub import AlertHub, hub_for_this_loop
from alerts.limits import SubscriberLimits
from alerts.price_events import PriceEvent
from core.db import run_orm

log = structlog.get_logger(__name__)

LAG_DRAIN_SECONDS = 10.0

SendText = Callable[[str], Awaitable[None]]
Close = Callable[[int], Awaitable[None]]


class Session:
    """The protocol state of one subscriber WebSocket."""

    def __init__(
        self, *, send: SendText, close: Close, correlation_id: str, limits: SubscriberLimits
    ) -> None:
        self.send_text = send
        self._close = close
        self.correlation_id = correlation_id
        self.limits = limits
        self.token_id: int | None = None
        self.user_id: int | None = None
        self.authenticated = False
        self.closed = False
        self.subscription: protocol.Subscription | None = None
        self.cursor = 0
        self.inbox: deque[AlertEvent | PriceEvent | protocol.Subscription] = deque()
        self.hub: AlertHub | None = None
        self._wake = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._overflowed = False
        self._recent: deque[float] = deque()
        self._tasks: list[asyncio.Task] = []
        self.flow_controlled = False

    async def open(self, *, token: str | None, user: Any, raw_send: Any) -> None:
        """Start after the handshake: authenticate now, or wait for an `auth` message."""
        self.flow_controlled = watch_writes(raw_send, self._writable.clear, self._writable.set)
        if token is not None:
            await self._authenticate(token)
        elif getattr(user, "is_active", False) and getattr(user, "is_staff", False):
            self.user_id = user.pk
            await self._welcome()
        else:
            self._tasks.append(asyncio.create_task(self._auth_deadline()))

    async def receive(self, text: str | None, data: bytes | None = None) -> None:
        """Handle one client frame."""
        if self.closed:
            return
        size = len(data) if data is not None else len((text or "").encode())
        if size > self.limits.max_frame_bytes:
            limit = self.limits.max_frame_bytes
            await self._fail(
                "too_large", f"frames are limited to {limit} bytes", protocol.CLOSE_TOO_LARGE
            )
            return
        if self._too_fast():
            rate = self.limits.max_messages_per_second
            await self._fail(
                "rate_limited", f"more than {rate} messages a second", protocol.CLOSE_RATE_LIMITED
            )
            return
        try:
            if data is not None:
                raise protocol.ProtocolError("bad_message", "binary frames are not supported")
            message = protocol.parse_client_message(text or "")
        except protocol.ProtocolError as exc:
            if not self.authenticated:
                await self._reject("the first message must be auth")
            else:
                await self.send_text(protocol.error(exc.code, exc.message))
            return
        await self._handle(message)

    def offer(self, event: AlertEvent | PriceEvent) -> None:
        """Queue a live event (called by the hub for every event)."""
        if self._overflowed or self.closed:
            return
        self.inbox.append(event)
        self._wake.set()
        if len(self.inbox) > self.limits.client_queue:
            self._overflowed = True
            self._tasks.append(asyncio.create_task(self._lag()))

    async def stop(self) -> None:
        """The connection is gone: stop work and leave the hub."""
        if self.closed:
            return
        self.closed = True
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        if self.hub is not None:
            await self.hub.leave(self)

    async def close(self, code: int) -> None:
        if not self.closed:
            await self.stop()
            await self._close(code)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if not self.authenticated:
            if kind != "auth":
                await self._reject("the first message must be auth")
            else:
                await self._authenticate(protocol.parse_auth(message))
        elif kind == "ping":
            await self.send_text(protocol.pong())
        elif kind == "auth":
            await self.send_text(
                protocol.error("already_authenticated", "this session is authenticated")
            )
        else:
            try:
                subscription = protocol.parse_subscription(message)
            except protocol.ProtocolError as exc:
                await self.send_text(protocol.error(exc.code, exc.message))
                return
            self.inbox.append(subscription)
            self._wake.set()

    async def _authenticate(self, raw: object) -> None:
        try:
            token = await run_orm(tokens.authenticate, raw)
        except tokens.TokenRejected as exc:
            await self._reject(f"token {exc.reason}")
            return
        self.token_id = token.pk
        await self._welcome()

    async def _welcome(self) -> None:
        self.authenticated = True
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self.hub = hub_for_this_loop(self.limits)
        await self.hub.join(self)
        self.cursor = await run_orm(store.latest_alert_id)
        await self.send_text(protocol.welcome(self.correlation_id, self.cursor))
        log.info(
            "subscriber_authenticated",
            token_id=self.token_id,
            user_id=self.user_id,
            flow_controlled=self.flow_controlled,
        )
        self._tasks.append(asyncio.create_task(self._pump()))
        self._tasks.append(asyncio.create_task(self._check_periodically()))

    async def _reject(self, reason: str) -> None:
        log.info("subscriber_rejected", reason=reason)
        await self.send_text(protocol.error("unauthorized", reason))
        await self.close(protocol.CLOSE_UNAUTHORIZED)

    async def _fail(self, code: str, message: str, close_code: int) -> None:
        log.info("subscriber_refused_message", code=code)
        await self.send_text(protocol.error(code, message))
        await self.close(close_code)

    def _too_fast(self) -> bool:
        now = time.monotonic()
        self._recent.append(now)
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        return len(self._recent) > self.limits.max_messages_per_second

    async def _auth_deadline(self) -> None:
        await asyncio.sleep(self.limits.auth_timeout)
        await self._reject(f"no auth message within {self.limits.auth_timeout:g} s")

    async def _check_periodically(self) -> None:
        """Re-check the credentials (revoked, expired) and send a heartbeat, every period."""
        while True:
            await asyncio.sleep(self.limits.session_check_seconds)
            problem = await run_orm(self._credential_problem)
            if problem:
                await self._reject(problem)
                return
            await self.send_text(protocol.heartbeat(self.cursor))

    def _credential_problem(self) -> str | None:
        if self.token_id is not None:
            reason = tokens.current_rejection(self.token_id)
            return None if reason is None else f"token {reason}"
        users = get_user_model().objects
        if users.filter(pk=self.user_id, is_active=True, is_staff=True).exists():
            return None
        return "staff login no longer valid"

    async def _pump(self) -> None:
        """Process queued events and subscriptions in order (the only writer of alert frames)."""
        while True:
            while not self.inbox:
                self._wake.clear()
                await self._wake.wait()
            item = self.inbox.popleft()
            if isinstance(item, protocol.Subscription):
                await self._subscribe(item)
            elif isinstance(item, PriceEvent):
                if self.subscription is not None and self.subscription.prices:
                    await self._write(item.frame)
            else:
                await self._deliver(item)

    async def _subscribe(self, subscription: protocol.Subscription) -> None:
        self.subscription = subscription
        since = subscription.since_id
        if since is not None and since > self.cursor:
            latest = await run_orm(store.latest_alert_id)
            self.cursor = min(since, latest)
        elif since is not None:
            self.cursor = since
        await self._write(protocol.subscribed(subscription))
        if since is not None:
            await self._catch_up()

    async def _deliver(self, event: AlertEvent) -> None:
        if event.kind == UPDATE:
            if self.subscription and event.id <= self.cursor and self._wants(event):
                await self._write(event.frame)
            return
        if event.id <= self.cursor:
            return
        if self.subscription is None:
            self.cursor = event.id
            return
        if event.id > self.cursor + 1:
            await self._catch_up()
            if event.id <= self.cursor:
                return
        if self._wants(event):
            await self._write(event.frame)
        self.cursor = event.id

    async def _catch_up(self) -> None:
        """Send stored alerts after the cursor, oldest first, up to the newest."""
        page = self.limits.replay_page
        while True:
            rows = await run_orm(store.alerts_after, self.cursor, page)
            for row in rows:
                event = event_for(row, ALERT)
                if self._wants(event):
                    await self._write(event.frame)
                self.cursor = row.id
            if len(rows) < page:
                return

    def _wants(self, event: AlertEvent) -> bool:
        return self.subscription is not None and self.subscription.filters.matches(event)

    async def _write(self, frame: str) -> None:
        if not self._writable.is_set():
            await self._writable.wait()
        await self.send_text(frame)

    async def _lag(self) -> None:
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        log.warning("subscriber_lagging", last_id=self.cursor, queued=len(self.inbox))
        self.inbox.clear()
        await self.send_text(protocol.lag(self.cursor))
        with contextlib.suppress(TimeoutError):  # give a slow reader the chance to see why
            await asyncio.wait_for(self._writable.wait(), LAG_DRAIN_SECONDS)
        await self.close(protocol.CLOSE_LAGGING)
