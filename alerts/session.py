"""One subscriber connection: authentication, client messages, filters, replay and live delivery.

Delivery is ordered by alert id. `cursor` is the last alert id this session has passed (sent, or
skipped by the filters): a live event at or below it is a duplicate and dropped; one beyond
`cursor + 1` means something was missed (a lost channel layer message) and the session catches up
from the store first. So replay followed by live has no gap and no duplicate (the rules are in
`alerts.delivery`).

Two paths deliver live events. While the session is idle (nothing queued, no replay running, the
socket writable), the hub's call writes the run's prepared bytes to the connection at once: the
same bytes for every session with the same filters and cursor. Otherwise the events wait in the
session's queue for its own task (`_pump`), which also runs subscribes and replays; so one path
at a time writes alerts to a socket, in order.

Replay is bounded: one `subscribe` with `since_id` (or one catch-up) reads at most `replay_limit`
stored alerts. It ends with `{"type": "replay", "since_id", "last_id", "more"}`; with `more` the
session sends no alert until the client subscribes again with `since_id: last_id`. A `subscribe`
that arrives during a replay supersedes it: the replay stops after its current page, and only the
newest `subscribe` waiting is run.

Slow clients: events wait in the session's own queue (at most `client_queue`); the socket is not
written while the server's write buffer for it is full (see `alerts.connection`). When the queue
overflows, the client gets `{"type": "lag", "last_id": N}` and, once that has drained (at most 10 s),
the connection is closed with 4409; it resumes with `since_id: N`, N being the last alert it
received (so a client cut off for any reason resumes the same way). Nothing one client does delays
another.

Credentials are checked again by the hub for all sessions at once (`alerts.credentials`), which
then sends each session a heartbeat or closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

import structlog

from alerts import credentials, protocol, store, tokens
from alerts.admission import admission_for_this_loop
from alerts.connection import Connection, attach, websocket_frame
from alerts.credentials import Holder, Refusal
from alerts.delivery import Delivery, frames, select
from alerts.events import ALERT, AlertEvent, event_for
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
        self.holder: Holder | None = None  # what it authenticated with
        self.authenticated = False
        self.closed = False
        self.subscription: protocol.Subscription | None = None
        self.cursor = 0
        self.inbox: deque[AlertEvent] = deque()
        self.hub: AlertHub | None = None
        self.connection: Connection | None = None
        self._filters: protocol.Filters | None = None
        self._batch = False
        self._next: protocol.Subscription | None = None  # the newest subscribe not yet run
        self._idle = False  # the pump waits for work: live events may be written at once
        self._paused = False  # a replay stopped at its limit: nothing until the next subscribe
        self._wake = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._overflowed = False
        self._recent: deque[float] = deque()
        self._tasks: list[asyncio.Task] = []
        self._admission = admission_for_this_loop()
        self._held: list[Hashable] = []  # keys counted in the admission, given back on stop
        self._waiting: Hashable | None = None  # the address key while waiting for `auth`

    async def open(
        self,
        *,
        token: str | None,
        user: Any,
        raw_send: Any,
        session_key: str | None = None,
        address: str | None = None,
    ) -> None:
        """Start after the handshake: authenticate now, or wait for an `auth` message."""
        self.connection = attach(raw_send, self._writable.clear, self._writable.set)
        if token is not None:
            await self._authenticate(token)
        elif getattr(user, "is_staff", False):
            holder = Holder(user_id=user.pk, session_key=session_key)
            refusal = await run_orm(credentials.staff_refusal, holder)
            if refusal is not None:
                await self._refuse(refusal)
            else:
                await self._welcome(holder, ("user", user.pk))
        elif self._hold(("address", address), self.limits.max_unauthenticated_per_address):
            self._waiting = ("address", address)
            self._tasks.append(asyncio.create_task(self._auth_deadline()))
        else:
            limit = self.limits.max_unauthenticated_per_address
            await self._refuse(
                Refusal(
                    "too_many_sockets",
                    f"more than {limit} sockets from one address are waiting to authenticate",
                    protocol.CLOSE_RATE_LIMITED,
                )
            )

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

    def offer(self, delivery: Delivery) -> None:
        """Take a run of live events (called by the hub for every run)."""
        if self._paused or self._overflowed or self.closed:
            return
        if (
            self._idle
            and self.connection is not None
            and self._next is None
            and not self.inbox
            and self._writable.is_set()
        ):
            prepared = delivery.prepared(self._filters, self._batch, self.cursor)
            if prepared is not None:
                data, self.cursor = prepared
                if data:
                    self.connection.write(data)
                return
        self.inbox.extend(delivery.events)
        self._wake.set()
        if len(self.inbox) > self.limits.client_queue:
            self._overflowed = True
            self._tasks.append(asyncio.create_task(self._lag()))

    def offer_price(self, event: PriceEvent) -> None:
        """Send a price message, when the subscription asked for them (apart from the alerts'
        order: a price message may come between two alert frames)."""
        if self.closed or self.subscription is None or not self.subscription.prices:
            return
        self._tasks = [task for task in self._tasks if not task.done()]
        self._tasks.append(asyncio.create_task(self._write(event.frame)))

    async def stop(self) -> None:
        """The connection is gone: stop work, leave the hub, give back the socket counts."""
        if self.closed:
            return
        self.closed = True
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for key in self._held:
            self._admission.leave(key)
        self._held.clear()
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
            self._next = subscription  # supersedes one still waiting and a replay running
            self._wake.set()

    async def _authenticate(self, raw: object) -> None:
        try:
            token = await run_orm(tokens.authenticate, raw)
        except tokens.TokenRejected as exc:
            await self._reject(f"token {exc.reason}")
            return
        await self._welcome(Holder(token_id=token.pk), ("token", token.pk))

    def checked(self, refusal: Refusal | None) -> None:
        """The hub checked the credentials again: close when refused, else send a heartbeat."""
        if self.closed:
            return
        work = self._refuse(refusal) if refusal else self.send_text(protocol.heartbeat(self.cursor))
        self._tasks = [task for task in self._tasks if not task.done()]
        self._tasks.append(asyncio.create_task(work))

    async def _welcome(self, holder: Holder, key: tuple[str, int]) -> None:
        if not self._hold(key, self.limits.max_sockets_per_token):
            limit = self.limits.max_sockets_per_token
            who = "token" if holder.token_id is not None else "staff login"
            await self._refuse(
                Refusal(
                    "too_many_sockets",
                    f"this {who} holds {limit} sockets already",
                    protocol.CLOSE_RATE_LIMITED,
                )
            )
            return
        if self._waiting is not None:  # no longer waiting for its auth message
            self._held.remove(self._waiting)
            self._admission.leave(self._waiting)
        self.holder = holder
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
            token_id=holder.token_id,
            user_id=holder.user_id,
            direct_writes=self.connection is not None,
        )
        self._tasks.append(asyncio.create_task(self._pump()))

    def _hold(self, key: Hashable, limit: int) -> bool:
        if not self._admission.enter(key, limit):
            return False
        self._held.append(key)
        return True

    async def _reject(self, reason: str) -> None:
        await self._refuse(credentials.unauthorized(reason))

    async def _refuse(self, refusal: Refusal) -> None:
        log.info("subscriber_rejected", reason=refusal.message, code=refusal.close_code)
        await self.send_text(protocol.error(refusal.code, refusal.message))
        await self.close(refusal.close_code)

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

    async def _pump(self) -> None:
        """Run subscribes and queued events in order (the writer of alerts while not idle)."""
        while True:
            if self._next is not None:
                subscription, self._next = self._next, None
                await self._subscribe(subscription)
            elif self.inbox:
                events = list(self.inbox)
                self.inbox.clear()
                await self._deliver(events)
            else:
                self._idle = True
                self._wake.clear()
                await self._wake.wait()
                self._idle = False

    async def _subscribe(self, subscription: protocol.Subscription) -> None:
        self.subscription = subscription
        self._filters, self._batch = subscription.filters, subscription.batch
        since = subscription.since_id
        if since is not None:
            self.cursor = min(since, await run_orm(store.latest_alert_id))
        elif self._paused:  # from now on
            self.cursor = await run_orm(store.latest_alert_id)
        self._paused = False
        await self._write(protocol.subscribed(subscription))
        if since is not None:
            await self._catch_up(since, announce=True)

    async def _deliver(self, events: Sequence[AlertEvent]) -> None:
        start = 0
        while True:
            selection = select(events, self._filters, self.cursor, start)
            await self._send(selection.events, selection.cursor)
            if selection.stop == len(events):
                return
            if not await self._catch_up(self.cursor, announce=False):
                return
            start = selection.stop

    async def _catch_up(self, since: int, *, announce: bool) -> bool:
        """Send the stored alerts after the cursor, oldest first, a page at a time, reading at
        most `replay_limit`. True when it reached the newest (said in a `replay` message when
        `announce`); False when it stopped: a newer subscribe superseded it, or it reached the
        limit, where the client is told to page on and the session pauses."""
        left = self.limits.replay_limit
        while left > 0:  # `else`: the limit was reached without meeting the newest alert
            if self._next is not None:
                return False
            page = min(self.limits.replay_page, left)
            rows = await run_orm(store.alerts_after, self.cursor, page)
            if rows:
                events = [event_for(row, ALERT) for row in rows]
                wanted = [event for event in events if self._wants(event)]
                await self._send(wanted, rows[-1].id)
            if len(rows) < page:
                break
            left -= len(rows)
        else:
            if await run_orm(store.alerts_after, self.cursor, 1):
                self._paused = True
                self.inbox.clear()
                await self._write(protocol.replay(since, self.cursor, more=True))
                return False
        if announce:
            await self._write(protocol.replay(since, self.cursor, more=False))
        return True

    def _wants(self, event: AlertEvent) -> bool:
        return self._filters is not None and self._filters.matches(event)

    async def _send(self, events: Sequence[AlertEvent], cursor: int) -> None:
        """Write `events`, moving the cursor on as each frame goes out (what `lag` reports),
        then to `cursor` (alerts after the last one sent that the filters skipped)."""
        for text, last_id in frames(events, self._batch):
            await self._write(text)
            self.cursor = max(self.cursor, last_id)
        self.cursor = cursor

    async def _write(self, text: str) -> None:
        if not self._writable.is_set():
            await self._writable.wait()
        if self.connection is not None:
            self.connection.write(websocket_frame(text))
        else:
            await self.send_text(text)

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
