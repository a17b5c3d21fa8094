"""The mempool feed (a worker loop): follow the backend's WebSocket, detect whales, store and
publish them, and follow each whale until it settles.

It sends `{"track-mempool": true}` (mempool 3.0 and later) and reads `mempool-transactions`
updates: `added` transactions are run through the detector; `replaced` marks a whale replaced;
`mined` confirms it; `removed` (expired, evicted, conflicted — and replaced ones too) makes the
feed look up where a whale went. The connection uses keepalive pings and reconnects with the
shared backoff rule. Frames larger than `max_frame_bytes` (a backend that restarts may send its
whole mempool in one frame) end the connection; the resync that follows fetches what they held.
At most `max_queue` frames wait unread, so the feed holds at most (max_queue + 1) times
max_frame_bytes of frames at once.

Transactions come from the backend's `/api/v1` Esplora routes, or from electrs (`ELECTRS_URL`)
when the backend runs with BACKEND=esplora and does not register them: the backend's mode is read
from `/api/v1/backend-info` at each connection, logged once when it changes and shown in the feed
status.

After every (re)connect, without ever holding up the reading of frames:
1. Resync: list the mempool's txids and fetch every one not seen yet — all of them, a few at a
   time (`resync_concurrency`), each processed as it arrives so memory stays bounded, within
   `resync_timeout`, with progress logged — so a whale that arrived while the feed was away is
   still alerted. The first sync of a fresh worker only takes the txids as seen (it does not alert
   the whole mempool). A worker that ran before (its last frame is stored) catches up instead:
   it fetches the whole mempool and alerts the whales it has not stored, except those the backend
   first saw well before the previous run's last frame (`RESUME_MARGIN_SECONDS`), which that run
   saw already; so a restart loses no whale that arrived while the worker was stopped.
2. Settle: pending whales no longer in the mempool are looked up (`/tx/:txid/status`): confirmed
   (with the block's height and time) or dropped. A lookup that fails (e.g. a backend whose Core
   has no -txindex answers 500) is retried every `settle_interval`.
Bad data is counted, logged once with the reason, and skipped.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from alerts import store
from alerts.detector import (
    MalformedData,
    Thresholds,
    decode_frame,
    detect,
    mempool_update,
    parse_transaction,
)
from alerts.events import ALERT, UPDATE, event_for, publish
from alerts.feed_status import FeedStats, previous_last_message, store_stats
from alerts.market import REFRESH_SECONDS, MarketData
from core.api import iso
from core.db import run_orm
from core.http import HttpOptions
from core.logging import correlation_scope
from core.redaction import redact_url
from core.upstreams import UpstreamError
from core.upstreams.esplora import EsploraClient, TxStatus
from core.upstreams.mempool import BackendInfo, MempoolClient
from core.worker import Backoff, wait_or_stop
from notify import messages

log = structlog.get_logger(__name__)

TRACK_MEMPOOL = json.dumps({"track-mempool": True})
ESPLORA_MODE = "esplora"
PROGRESS_SECONDS = 10.0
RESUME_MARGIN_SECONDS = 600.0  # a transaction first seen this long before the last frame was in it


@dataclass(frozen=True)
class FeedConfig:
    """Where the backend is and how the feed behaves; `from_settings` gives production values."""

    ws_url: str
    http_url: str
    thresholds: Thresholds
    electrs_url: str | None = None  # where transactions come from when the backend is esplora
    http: HttpOptions = field(default_factory=HttpOptions)
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    open_timeout: float = 10.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    resync_concurrency: int = 8
    resync_timeout: float = 1800.0
    settle_interval: float = 600.0
    market_refresh: float = REFRESH_SECONDS
    stats_interval: float = 5.0
    stats_log_interval: float = 60.0
    max_frame_bytes: int = 16 * 2**20
    max_queue: int = 2  # frames received and not yet read (websockets' default is 16)

    @classmethod
    def from_settings(cls) -> FeedConfig:
        return cls(
            ws_url=settings.MEMPOOL_WS_URL,
            http_url=settings.MEMPOOL_URL,
            electrs_url=settings.ELECTRS_URL,
            thresholds=Thresholds(settings.WHALE_MIN_BTC, settings.WHALE_MIN_USD),
            resync_concurrency=settings.FEED_RESYNC_CONCURRENCY,
            max_frame_bytes=settings.FEED_MAX_FRAME_BYTES,
        )


class MempoolFeed:
    """One feed: its connection loop, its view of the mempool and its statistics."""

    def __init__(self, config: FeedConfig, market: MarketData | None = None) -> None:
        self.config = config
        self.backend = MempoolClient(config.http_url, config.http)
        self.transactions: EsploraClient = self.backend.transactions()
        self.market = market or MarketData()
        self.stats = FeedStats(started_at=time.time())
        self.seen: set[str] = set()
        self.pending_whales: set[str] = set()
        self.unsettled: set[str] = set()  # left the mempool, where to is not known yet
        self.last_sequence: int | None = None
        self.has_baseline = False
        self.resume_after: float | None = None  # the previous run's last frame, until caught up
        self.executor = ThreadPoolExecutor(config.resync_concurrency + 2, "mempool-http")
        self._mode: str | None = None
        self._resync_reason: str | None = None
        self._added_during_resync: set[str] = set()
        self._settling: set[asyncio.Task] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the backend until `stop` is set."""
        self.resume_after = await run_orm(previous_last_message)
        await run_orm(store_stats, self.stats)  # "connecting", for the health check
        self.pending_whales = await run_orm(store.pending_txids)
        helpers = [
            asyncio.create_task(self._refresh_market(stop)),
            asyncio.create_task(self._publish_stats(stop)),
            asyncio.create_task(self._settle_periodically(stop)),
        ]
        try:
            await self._follow(stop)
        finally:
            for task in [*helpers, *self._settling]:
                task.cancel()
            await asyncio.gather(*helpers, *self._settling, return_exceptions=True)
            self.stats.connected = False
            await run_orm(store_stats, self.stats)
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.backend.close()
            self.transactions.close()

    async def _follow(self, stop: asyncio.Event) -> None:
        attempt = 0
        backoff = Backoff(self.config.backoff_initial, self.config.backoff_max)
        while not stop.is_set():
            with correlation_scope(feed_connection=attempt):
                heard = await self._connection(stop)
            if stop.is_set():
                return
            attempt = 0 if heard else attempt + 1
            self.stats.reconnects += 1
            delay = backoff.delay(attempt)
            log.info("feed_reconnect_scheduled", delay_s=round(delay, 2))
            if await wait_or_stop(stop, delay):
                return

    async def _connection(self, stop: asyncio.Event) -> bool:
        """One connection, start to end; True when it delivered at least one message."""
        received_before = self.stats.last_message_at
        url = redact_url(self.config.ws_url)
        sync: asyncio.Task | None = None
        try:
            async with connect(
                self.config.ws_url,
                ping_interval=self.config.ping_interval,
                ping_timeout=self.config.ping_timeout,
                open_timeout=self.config.open_timeout,
                close_timeout=2,
                max_size=self.config.max_frame_bytes,
                max_queue=self.config.max_queue,
            ) as socket:
                await socket.send(TRACK_MEMPOOL)
                self.stats.connected, self.stats.connected_since = True, time.time()
                self.last_sequence = None
                log.info("feed_connected", url=url)
                sync = asyncio.create_task(self._sync(self._sync_reason()))
                await self._read(socket, stop)
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
            self._note_disconnect(_why(exc))
        except Exception as exc:  # a bug or the database: reconnect and resync rather than die
            log.exception("feed_failed")
            self._note_disconnect(f"{type(exc).__name__}: {exc}")
        finally:
            if sync is not None:
                sync.cancel()
                await asyncio.gather(sync, return_exceptions=True)
        self.stats.connected = False
        return self.stats.last_message_at != received_before

    def _sync_reason(self) -> str:
        if self.has_baseline:
            return "reconnect"
        return "start" if self.resume_after is None else "restart"

    def _note_disconnect(self, reason: str) -> None:
        self.stats.last_error = reason  # redacted when logged and when stored
        log.warning("feed_disconnected", reason=reason)

    async def _read(self, socket: ClientConnection, stop: asyncio.Event) -> None:
        stopper = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                receiving = asyncio.create_task(socket.recv())
                await asyncio.wait({receiving, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if not receiving.done():
                    receiving.cancel()
                    await socket.close()
                    return
                await self.handle_frame(receiving.result())
                if self._resync_reason:
                    reason, self._resync_reason = self._resync_reason, None
                    self._background(self._sync(reason))
        finally:
            stopper.cancel()

    # --- frames ------------------------------------------------------------------------------

    async def handle_frame(self, text: str | bytes) -> None:
        """Process one frame from the backend."""
        self.stats.last_message_at = time.time()
        try:
            update = mempool_update(decode_frame(text))
        except MalformedData as exc:
            self._parse_error(str(exc))
            return
        if update is None:
            return
        for reason in update.errors:
            self._parse_error(reason)
        if update.sequence is not None:
            previous, self.last_sequence = self.last_sequence, update.sequence
            if previous is not None and update.sequence not in (previous, previous + 1):
                log.warning("feed_sequence_jump", previous=previous, sequence=update.sequence)
                self._resync_reason = "sequence jump"
        for raw in update.added:
            await self.process_transaction(raw)
        replaced = set()
        for old, raw in update.replaced:
            replacement = await self.process_transaction(raw) if raw is not None else None
            await self._replaced(old, replacement)
            replaced.add(old)
        self.seen.difference_update(update.removed)
        self.seen.difference_update(update.mined)
        await self._mined(update.mined)
        gone = self.pending_whales.intersection(update.removed) - replaced
        if gone:
            self._background(self.settle(gone))

    async def process_transaction(self, raw: Any) -> str | None:
        """Detect (and store and publish) one transaction object; its txid, None when malformed."""
        try:
            tx = parse_transaction(raw)
        except MalformedData as exc:
            txid = raw.get("txid") if isinstance(raw, dict) else None
            self._parse_error(str(exc), txid=txid if isinstance(txid, str) else None)
            return None
        self._added_during_resync.add(tx.txid)
        if tx.txid in self.seen:
            return tx.txid
        self.seen.add(tx.txid)
        if self._seen_by_previous_run(tx.first_seen):
            self.stats.processed += 1
            return tx.txid
        usd_price, usd_source = self.market.usd_price()
        alert = detect(
            tx,
            self.config.thresholds,
            usd_price=usd_price,
            usd_source=usd_source,
            fees=self.market.fees,
            seen_at=time.time(),
        )
        if alert is not None:
            row = await run_orm(store.save_alert, alert)
            if row is not None:
                self.stats.whales += 1
                self.pending_whales.add(row.txid)
                log.info("whale_detected", txid=row.txid, btc=row.btc_value, alert_id=row.id)
                messages.whale(row.txid, row.btc_value, row.usd_value, row.fee_rate, row.rbf)
                await publish(event_for(row, ALERT))
        self.stats.processed += 1
        return tx.txid

    def _seen_by_previous_run(self, first_seen: float | None) -> bool:
        """Whether the previous run of the worker had this transaction in a frame already."""
        return (
            self.resume_after is not None
            and first_seen is not None
            and first_seen < self.resume_after - RESUME_MARGIN_SECONDS
        )

    async def _replaced(self, old: str, by: str | None) -> None:
        self.seen.discard(old)
        self.unsettled.discard(old)
        self.pending_whales.discard(old)
        row = await run_orm(store.mark_replaced, old, by)
        if row is not None:
            log.info("whale_replaced", txid=old, replaced_by=by, alert_id=row.id)
            await publish(event_for(row, UPDATE))

    async def _mined(self, txids: list[str]) -> None:
        for txid in self.pending_whales.intersection(txids):
            status = await self._status(txid)
            if status is None or not status.confirmed:  # the backend has not indexed it yet
                status = TxStatus(True, await self._tip_height(), None)
            await self._settled(txid, status)

    # --- resync and settle -------------------------------------------------------------------

    async def _sync(self, reason: str) -> None:
        """Resync, then settle the pending whales the mempool no longer holds (never raises)."""
        try:
            await self._detect_backend()
            listed = await self.resync(reason)
            await self.settle(self.pending_whales - listed)
        except UpstreamError as exc:
            log.warning("feed_resync_failed", reason=reason, error=str(exc))
            self.stats.last_error = f"resync: {exc}"

    async def _detect_backend(self) -> None:
        """Read the backend's version and mode; in esplora mode, transactions come from electrs."""
        try:
            info = await self._in_pool(self.backend.backend_info)
        except UpstreamError as exc:
            info = BackendInfo(None, None, None)
            log.info("feed_backend_info_unavailable", reason=str(exc))
        mode = info.backend or "unknown"
        if info.backend == ESPLORA_MODE and self.config.electrs_url:
            self.transactions = EsploraClient(self.config.electrs_url, self.config.http, service="electrs")  # fmt: skip
            mode = "esplora (transactions from ELECTRS_URL)"
        elif info.backend == ESPLORA_MODE:
            mode = "esplora, but ELECTRS_URL is not set: no resync"
        else:
            self.transactions = self.backend.transactions()
        self.stats.backend = f"{info.version or 'unknown version'}, backend {mode}"
        if mode != self._mode:
            self._mode = mode
            log.info("feed_backend", version=info.version, mode=mode)
        if info.major is not None and info.major < 3:
            self.stats.last_error = (
                f"the mempool backend is {info.version}: track-mempool needs 3.0 or later"
            )
            log.error("feed_backend_too_old", version=info.version)

    async def resync(self, reason: str) -> set[str]:
        """Catch up with the mempool; the txids it lists.

        The first sync of a fresh worker only takes the mempool's txids as seen; later ones, and
        the first one of a worker that ran before, fetch every unseen transaction, a few at a time,
        each processed as soon as it arrives.
        """
        self._added_during_resync = set()
        txids = await self._in_pool(self.transactions.mempool_txids)
        listed = set(txids)
        if not self.has_baseline and self.resume_after is None:
            self.seen |= listed
            self.has_baseline = True
            log.info("feed_baseline", reason=reason, mempool_size=len(listed))
            return listed
        if not self.has_baseline:
            self.has_baseline = True
            log.info(
                "feed_resume",
                previous_last_message=iso(datetime.fromtimestamp(self.resume_after, UTC)),
                mempool_size=len(listed),
            )
        self.stats.resyncs += 1
        unseen = [txid for txid in txids if txid not in self.seen]
        progress = {"looked_at": 0, "fetched": 0}
        whales_before = self.stats.whales
        pending = iter(unseen)

        async def worker() -> None:
            for txid in pending:
                raw = await self._in_pool(self._transaction, txid)
                progress["looked_at"] += 1
                if raw is not None:
                    progress["fetched"] += 1
                    await self.process_transaction(raw)

        async def report() -> None:
            while True:
                await asyncio.sleep(PROGRESS_SECONDS)
                log.info("feed_resync_progress", total=len(unseen), **progress)

        reporter = asyncio.create_task(report())
        workers = [worker() for _ in range(self.config.resync_concurrency)]
        try:
            await asyncio.wait_for(asyncio.gather(*workers), self.config.resync_timeout)
        except TimeoutError:
            log.warning(
                "feed_resync_incomplete", total=len(unseen), timeout_s=self.config.resync_timeout
            )
            self._resync_reason = "incomplete resync"
        else:
            self.resume_after = None  # caught up: every transaction of the mempool was looked at
        finally:
            reporter.cancel()
        self.seen = (self.seen & listed) | self._added_during_resync
        log.info(
            "feed_resynced",
            reason=reason,
            mempool_size=len(listed),
            unseen=len(unseen),
            whales=self.stats.whales - whales_before,
            **progress,
        )
        return listed

    async def settle(self, txids: Iterable[str]) -> None:
        """Look up where pending whales that left the mempool went: confirmed or dropped."""
        for txid in sorted(set(txids) & self.pending_whales):
            try:
                status = await self._in_pool(self.transactions.tx_status, txid)
            except UpstreamError as exc:
                if txid not in self.unsettled:
                    log.warning(
                        "whale_status_unknown",
                        txid=txid,
                        reason=str(exc),
                        hint="a mempool backend on Bitcoin Core without -txindex cannot look up"
                        " transactions that left the mempool",
                    )
                self.unsettled.add(txid)
                continue
            if status is None or status.confirmed:
                await self._settled(txid, status)

    async def _settled(self, txid: str, status: TxStatus | None) -> None:
        """Store a whale's final state (None: dropped) and tell the subscribers."""
        self.pending_whales.discard(txid)
        self.unsettled.discard(txid)
        if status is None:
            row = await run_orm(store.mark_dropped, txid)
            event = "whale_dropped"
        else:
            when = None if status.block_time is None else datetime.fromtimestamp(status.block_time, UTC)  # fmt: skip
            row = await run_orm(store.mark_confirmed, txid, status.block_height, when)
            event = "whale_confirmed"
        if row is not None:
            self.stats.settled += 1
            log.info(event, txid=txid, alert_id=row.id, block_height=row.block_height)
            await publish(event_for(row, UPDATE))

    async def _settle_periodically(self, stop: asyncio.Event) -> None:
        while not await wait_or_stop(stop, self.config.settle_interval):
            if self.unsettled:
                await self.settle(set(self.unsettled))

    async def _status(self, txid: str) -> TxStatus | None:
        try:
            return await self._in_pool(self.transactions.tx_status, txid)
        except UpstreamError:
            return None

    async def _tip_height(self) -> int | None:
        try:
            return int(await self._in_pool(self.transactions.tip_height))
        except UpstreamError:
            return None

    def _transaction(self, txid: str) -> object | None:
        """A transaction object, or None when it is gone (mined, evicted) or unreadable."""
        try:
            return self.transactions.tx(txid)
        except UpstreamError as exc:
            log.warning("resync_fetch_failed", txid=txid, reason=str(exc))
        return None

    def _background(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _in_pool(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    def _parse_error(self, reason: str, txid: str | None = None) -> None:
        self.stats.parse_errors += 1
        log.warning("feed_parse_error", reason=reason, txid=txid)

    async def _refresh_market(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._in_pool(self.market.refresh, self.backend)
            if await wait_or_stop(stop, self.config.market_refresh):
                return

    async def _publish_stats(self, stop: asyncio.Event) -> None:
        last_log = time.monotonic()
        while not await wait_or_stop(stop, self.config.stats_interval):
            await run_orm(store_stats, self.stats)
            if time.monotonic() - last_log >= self.config.stats_log_interval:
                last_log = time.monotonic()
                log.info("feed_stats", **self.stats.log_fields(time.time()))


def _why(exc: BaseException) -> str:
    """A disconnect's reason without the URL (the websockets library puts it in its messages)."""
    if isinstance(exc, ConnectionClosed):
        frame = exc.rcvd or exc.sent
        if frame is not None:
            return f"connection closed ({frame.code}{': ' + frame.reason if frame.reason else ''})"
        return "connection lost"
    return f"{type(exc).__name__}: {exc}"


async def loop(stop: asyncio.Event) -> None:
    """The worker loop (settings.WORKER_LOOPS): the mempool feed with the configured backend."""
    await MempoolFeed(FeedConfig.from_settings()).run(stop)
