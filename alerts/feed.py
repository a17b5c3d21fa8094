"""The mempool feed (a worker loop): follow the backend's WebSocket, detect whales, store and
publish them, and track their fate (replaced, mined).

It sends `{"track-mempool": true}` and reads `mempool-transactions` updates. The connection uses
keepalive pings and reconnects with exponential backoff and jitter (capped at 60 s). After a
reconnect or a jump in `sequence` it resyncs: it lists the mempool's txids and fetches the ones it
has not seen (bounded in number and concurrency), so a whale that arrived meanwhile is still
alerted. Bad data is counted, logged once with the reason, and skipped.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from alerts.feed_status import FeedStats, store_stats
from alerts.market import REFRESH_SECONDS, MarketData
from core.db import run_orm
from core.http import UpstreamError, fetch, http_session
from core.logging import correlation_scope
from core.redaction import redact_url
from core.worker import Backoff, wait_or_stop

log = structlog.get_logger(__name__)

TRACK_MEMPOOL = json.dumps({"track-mempool": True})


@dataclass(frozen=True)
class FeedConfig:
    """Where the backend is and how the feed behaves; `from_settings` gives production values."""

    ws_url: str
    http_url: str
    thresholds: Thresholds
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    open_timeout: float = 10.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    resync_max_tx: int = 2_000
    resync_concurrency: int = 8
    market_refresh: float = REFRESH_SECONDS
    stats_interval: float = 5.0
    stats_log_interval: float = 60.0
    max_frame_bytes: int = 64 * 2**20

    @classmethod
    def from_settings(cls) -> FeedConfig:
        return cls(
            ws_url=settings.MEMPOOL_WS_URL,
            http_url=settings.MEMPOOL_URL,
            thresholds=Thresholds(settings.WHALE_MIN_BTC, settings.WHALE_MIN_USD),
        )


class MempoolFeed:
    """One feed: its connection loop, its view of the mempool and its statistics."""

    def __init__(self, config: FeedConfig, market: MarketData | None = None) -> None:
        self.config = config
        self.market = market or MarketData()
        self.stats = FeedStats(started_at=time.time())
        self.seen: set[str] = set()
        self.pending_whales: set[str] = set()
        self.last_sequence: int | None = None
        self.has_baseline = False
        self.session = http_session(pool_size=config.resync_concurrency)
        self.executor = ThreadPoolExecutor(config.resync_concurrency, "mempool-http")
        self._resync_reason: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the backend until `stop` is set."""
        await run_orm(store_stats, self.stats)  # "connecting", for the health check
        self.pending_whales = await run_orm(store.pending_txids)
        helpers = [
            asyncio.create_task(self._refresh_market(stop)),
            asyncio.create_task(self._publish_stats(stop)),
        ]
        try:
            await self._follow(stop)
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            self.stats.connected = False
            await run_orm(store_stats, self.stats)
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.session.close()

    async def _follow(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            with correlation_scope(feed_connection=attempt):
                heard = await self._connection(stop)
            if stop.is_set():
                return
            attempt = 0 if heard else attempt + 1
            self.stats.reconnects += 1
            delay = Backoff(self.config.backoff_initial, self.config.backoff_max).delay(attempt)
            log.info("feed_reconnect_scheduled", delay_s=round(delay, 2))
            if await wait_or_stop(stop, delay):
                return

    async def _connection(self, stop: asyncio.Event) -> bool:
        """One connection, start to end; True when it delivered at least one message."""
        received_before = self.stats.last_message_at
        url = redact_url(self.config.ws_url)
        try:
            async with connect(
                self.config.ws_url,
                ping_interval=self.config.ping_interval,
                ping_timeout=self.config.ping_timeout,
                open_timeout=self.config.open_timeout,
                close_timeout=2,
                max_size=self.config.max_frame_bytes,
            ) as socket:
                await socket.send(TRACK_MEMPOOL)
                self.stats.connected, self.stats.connected_since = True, time.time()
                self.last_sequence = None
                log.info("feed_connected", url=url)
                await self.resync("reconnect" if self.has_baseline else "start")
                await self._read(socket, stop)
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed, UpstreamError) as exc:
            self._note_disconnect(f"{type(exc).__name__}: {exc}"[:300])
        except Exception as exc:  # a bug or the database: reconnect and resync rather than die
            log.exception("feed_failed")
            self._note_disconnect(f"{type(exc).__name__}: {exc}"[:300])
        self.stats.connected = False
        return self.stats.last_message_at != received_before

    def _note_disconnect(self, reason: str) -> None:
        self.stats.last_error = reason
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
                    await self.resync(self._resync_reason)
        finally:
            stopper.cancel()

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
        for old, raw in update.replaced:
            replacement = await self.process_transaction(raw) if raw is not None else None
            await self._replaced(old, replacement)
        self.seen.difference_update(update.removed)
        self.seen.difference_update(update.mined)
        await self._mined(update.mined)

    async def process_transaction(self, raw: Any) -> str | None:
        """Detect (and store and publish) one transaction object; its txid, None when malformed."""
        try:
            tx = parse_transaction(raw)
        except MalformedData as exc:
            txid = raw.get("txid") if isinstance(raw, dict) else None
            self._parse_error(str(exc), txid=txid if isinstance(txid, str) else None)
            return None
        if tx.txid in self.seen:
            return tx.txid
        alert = detect(
            tx,
            self.config.thresholds,
            usd_price=self.market.usd_price(),
            fees=self.market.fees,
            seen_at=time.time(),
        )
        if alert is not None:
            row = await run_orm(store.save_alert, alert)
            if row is not None:
                self.stats.whales += 1
                self.pending_whales.add(row.txid)
                log.info("whale_detected", txid=row.txid, btc=row.btc_value, alert_id=row.id)
                await publish(event_for(row, ALERT))
        self.stats.processed += 1
        self.seen.add(tx.txid)
        return tx.txid

    async def _replaced(self, old: str, by: str | None) -> None:
        self.seen.discard(old)
        if old not in self.pending_whales:
            return
        self.pending_whales.discard(old)
        row = await run_orm(store.mark_replaced, old, by)
        if row is not None:
            log.info("whale_replaced", txid=old, replaced_by=by, alert_id=row.id)
            await publish(event_for(row, UPDATE))

    async def _mined(self, txids: list[str]) -> None:
        confirmed = self.pending_whales.intersection(txids)
        if not confirmed:
            return
        self.pending_whales.difference_update(confirmed)
        for row in await run_orm(store.mark_confirmed, confirmed):
            log.info("whale_confirmed", txid=row.txid, alert_id=row.id)
            await publish(event_for(row, UPDATE))

    async def resync(self, reason: str) -> None:
        """Catch up with the mempool: fetch the transactions missed while not listening.

        The first sync of a feed only takes the mempool's current txids as seen (a fresh worker
        does not alert on the whole mempool); later ones fetch what is unseen.
        """
        self._resync_reason = None
        txids = await self._in_pool(self._mempool_txids)
        current = set(txids)
        if not self.has_baseline:
            self.seen, self.has_baseline = current, True
            log.info("feed_baseline", reason=reason, mempool_size=len(current))
            return
        self.stats.resyncs += 1
        unseen = [txid for txid in txids if txid not in self.seen]
        wanted = unseen[: self.config.resync_max_tx]
        gate = asyncio.Semaphore(self.config.resync_concurrency)

        async def one(txid: str) -> object | None:
            async with gate:
                return await self._in_pool(self._transaction, txid)

        fetched = await asyncio.gather(*(one(txid) for txid in wanted))
        whales_before = self.stats.whales
        for raw in fetched:
            if raw is not None:
                await self.process_transaction(raw)
        self.seen = current
        log.info(
            "feed_resynced",
            reason=reason,
            mempool_size=len(current),
            unseen=len(unseen),
            fetched=sum(raw is not None for raw in fetched),
            skipped=len(unseen) - len(wanted),
            whales=self.stats.whales - whales_before,
        )

    def _mempool_txids(self) -> list[str]:
        _, body = fetch(
            self.session, "mempool", "GET", f"{self.config.http_url}/api/mempool/txids", limit=2**26
        )
        try:
            txids = json.loads(body)
        except ValueError:
            raise UpstreamError("mempool", "/api/mempool/txids", "not JSON") from None
        if not isinstance(txids, list):
            raise UpstreamError("mempool", "/api/mempool/txids", "not a list")
        return [txid.lower() for txid in txids if isinstance(txid, str) and len(txid) == 64]

    def _transaction(self, txid: str) -> object | None:
        """A transaction object, or None when it is gone (mined, evicted) or unreadable."""
        try:
            _, body = fetch(self.session, "mempool", "GET", f"{self.config.http_url}/api/tx/{txid}")
            return json.loads(body)
        except UpstreamError as exc:  # 404: mined or evicted since the txids were listed
            level = log.debug if exc.reason == "HTTP 404" else log.warning
            level("resync_fetch_failed", txid=txid, reason=str(exc))
        except ValueError:
            self._parse_error("transaction is not JSON", txid=txid)
        return None

    async def _in_pool(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    def _parse_error(self, reason: str, txid: str | None = None) -> None:
        self.stats.parse_errors += 1
        log.warning("feed_parse_error", reason=reason, txid=txid)

    async def _refresh_market(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._in_pool(self.market.refresh, self.session, self.config.http_url)
            if await wait_or_stop(stop, self.config.market_refresh):
                return

    async def _publish_stats(self, stop: asyncio.Event) -> None:
        last_log = time.monotonic()
        while not await wait_or_stop(stop, self.config.stats_interval):
            await run_orm(store_stats, self.stats)
            if time.monotonic() - last_log >= self.config.stats_log_interval:
                last_log = time.monotonic()
                log.info("feed_stats", **self.stats.log_fields(time.time()))


async def loop(stop: asyncio.Event) -> None:
    """The worker loop (settings.WORKER_LOOPS): the mempool feed with the configured backend."""
    await MempoolFeed(FeedConfig.from_settings()).run(stop)
