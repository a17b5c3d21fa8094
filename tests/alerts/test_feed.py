"""The mempool feed against the loopback simulator (a real WebSocket and HTTP server)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from alerts.checks import ERROR, OK, feed_health, mempool_feed_check
from alerts.detector import Thresholds
from alerts.feed import FeedConfig
from alerts.models import AlertStatus, FeedStatus, WhaleAlert
from tests.alerts.helpers import eventually, minnow, running_feed, whale

pytestmark = [pytest.mark.channel_layer, pytest.mark.usefixtures("transactional_db")]


@database_sync_to_async
def stored(txid: str) -> WhaleAlert | None:
    return WhaleAlert.objects.filter(txid=txid).first()


@database_sync_to_async
def stored_count() -> int:
    return WhaleAlert.objects.count()


async def test_whale_is_stored_then_published(simulator, published):
    big, small = whale(btc=420), minnow()
    async with running_feed(simulator) as feed:
        await simulator.push(added=[small, big])
        row = await eventually(lambda: stored(big["txid"]))
        frame = (await eventually(lambda: published.of_type("whale_alert")))[0]
        assert feed.stats.processed == 2 and feed.stats.whales == 1
    assert simulator.received[0] == {"track-mempool": True}
    assert frame["id"] == row.id
    assert frame["data"]["txid"] == big["txid"] and frame["data"]["btc_value"] == 420
    assert frame["data"]["status"] == "pending"
    assert frame["data"]["expected_confirmation"] in {"next_block", "within_3", "within_6", "later"}
    assert await stored(small["txid"]) is None


async def test_same_transaction_twice_is_one_alert(simulator, published):
    big = whale()
    async with running_feed(simulator):
        await simulator.push(added=[big])
        await simulator.push(added=[big])
        await eventually(lambda: published.of_type("whale_alert"))
        await asyncio.sleep(0.2)
    assert await stored_count() == 1
    assert len(published.of_type("whale_alert")) == 1


async def test_replaced_and_mined_whales_change_status(simulator, published):
    first, second = whale(rbf=True), whale()
    replacement = whale(rbf=True)
    async with running_feed(simulator):
        await simulator.add(first, second)
        await eventually(lambda: len(published.of_type("whale_alert")) == 2)
        await simulator.replace(first["txid"], replacement)  # in `removed` and `replaced`
        block = await simulator.mine([second["txid"], replacement["txid"]])
        await eventually(lambda: len(published.of_type("whale_update")) == 3)
    replaced, confirmed = await stored(first["txid"]), await stored(second["txid"])
    assert replaced.status == AlertStatus.REPLACED
    assert replaced.replaced_by == replacement["txid"]
    assert confirmed.status == AlertStatus.CONFIRMED
    assert confirmed.block_height == block.height
    assert confirmed.confirmed_at.timestamp() == block.time
    updates = {u["data"]["txid"]: u["data"] for u in published.of_type("whale_update")}
    assert updates[first["txid"]]["status"] == "replaced"
    assert updates[first["txid"]]["replaced_by"] == replacement["txid"]
    assert updates[second["txid"]]["status"] == "confirmed"
    assert updates[replacement["txid"]]["status"] == "confirmed"


async def test_removed_transactions_are_forgotten(simulator):
    small = minnow()
    async with running_feed(simulator) as feed:
        await simulator.push(added=[small])
        await eventually(lambda: small["txid"] in feed.seen)
        await simulator.push(removed=[small["txid"]])
        await eventually(lambda: small["txid"] not in feed.seen)


async def test_garbage_is_counted_logged_and_skipped(simulator, published, json_logs):
    broken = whale()
    broken["fee"] = "1000"
    wrong_type = whale()
    wrong_type["vout"][0]["value"] = -1
    good = whale()
    async with running_feed(simulator) as feed:
        await simulator.send_raw("this is not JSON")
        await simulator.send_raw(b"\x00\xff binary")
        await simulator.send_raw("[1, 2, 3]")
        await simulator.send_raw(json.dumps({"mempool-transactions": {"added": "nope"}}))
        await simulator.push(added=[broken, 42, wrong_type], removed=["zz"])
        await simulator.push(added=[good])
        await eventually(lambda: published.of_type("whale_alert"))
        assert feed.stats.parse_errors == 8
        assert feed.stats.reconnects == 0
    reasons = [line["reason"] for line in json_logs.events("feed_parse_error")]
    assert len(reasons) == 8
    assert "fee is missing or not a satoshi amount" in reasons
    assert any("not JSON" in reason for reason in reasons)
    assert [frame["data"]["txid"] for frame in published.of_type("whale_alert")] == [good["txid"]]


async def test_sequence_jump_resyncs_and_finds_the_missed_whale(simulator, published):
    async with running_feed(simulator) as feed:
        await simulator.push(added=[minnow()])
        missed = whale(btc=999)
        simulator.add_quietly(missed)
        await simulator.push(added=[minnow()], skip=3)
        frame = (await eventually(lambda: published.of_type("whale_alert")))[0]
        assert frame["data"]["txid"] == missed["txid"]
        assert feed.stats.resyncs == 1 and feed.stats.reconnects == 0
    assert f"/api/v1/tx/{missed['txid']}" in simulator.requests


async def test_whale_during_an_outage_is_alerted_after_reconnecting(simulator, published):
    async with running_feed(simulator) as feed:
        await simulator.push(added=[minnow()])
        simulator.accepting = False
        simulator.disconnect_all()
        await eventually(lambda: not feed.stats.connected)
        missed, gone = whale(btc=1234), whale()
        simulator.add_quietly(missed)
        await eventually(lambda: feed.stats.reconnects >= 2)  # refused at least once
        simulator.accepting = True
        simulator.mempool.pop(gone["txid"], None)
        frame = (await eventually(lambda: published.of_type("whale_alert")))[0]
        assert frame["data"]["txid"] == missed["txid"]
        assert feed.stats.connected and feed.stats.resyncs == 1
        assert "503" in feed.stats.last_error or "ConnectionClosed" in feed.stats.last_error


async def test_resync_looks_at_every_unseen_transaction(simulator, published, json_logs):
    async with running_feed(simulator, resync_concurrency=2) as feed:
        simulator.add_quietly(*[whale() for _ in range(5)], *[minnow() for _ in range(20)])
        simulator.disconnect_all()
        await eventually(lambda: json_logs.events("feed_resynced"))
        await eventually(lambda: len(published.of_type("whale_alert")) == 5)
        assert feed.stats.resyncs == 1
    resynced = json_logs.events("feed_resynced")[0]
    assert (resynced["unseen"], resynced["looked_at"], resynced["fetched"]) == (25, 25, 25)
    assert len([path for path in simulator.requests if path.startswith("/api/v1/tx/")]) == 25


async def test_a_transaction_gone_before_it_is_fetched_is_skipped(simulator, published):
    async with running_feed(simulator) as feed:
        simulator.listed_only.add("ee" * 32)
        late = whale()
        simulator.add_quietly(late)
        simulator.disconnect_all()
        await eventually(lambda: feed.stats.resyncs == 1)
        frame = (await eventually(lambda: published.of_type("whale_alert")))[0]
    assert frame["data"]["txid"] == late["txid"]
    assert f"/api/v1/tx/{'ee' * 32}" in simulator.requests


async def test_silent_connection_is_dropped_by_keepalive_pings(simulator):
    async with running_feed(simulator, ping_interval=0.1, ping_timeout=0.2) as feed:
        for connection in list(simulator.tracking):
            connection.transport.pause_reading()
        await eventually(lambda: feed.stats.reconnects >= 1)
        await simulator.wait_for_tracking()
        assert "keepalive" in feed.stats.last_error or "1011" in feed.stats.last_error


async def test_usd_threshold_uses_the_backend_price(simulator, published):
    simulator.price_usd = 100_000.0
    medium = whale(btc=12)
    async with running_feed(simulator, thresholds=Thresholds(100, min_usd=1_000_000)) as feed:
        await eventually(lambda: feed.market.exchange_usd == 100_000.0)
        await simulator.push(added=[medium])
        frame = (await eventually(lambda: published.of_type("whale_alert")))[0]
    assert frame["data"]["usd_value"] == 1_200_000.0
    assert frame["data"]["urgency"] is not None


async def test_market_data_failure_keeps_going(simulator, published, json_logs):
    simulator.price_usd = None
    simulator.fees = {"fastestFee": "fast"}
    async with running_feed(simulator) as feed:
        await simulator.push(added=[whale()])
        frame = (await eventually(lambda: published.of_type("whale_alert")))[0]
        assert feed.market.fees is None
    assert frame["data"]["urgency"] is None and frame["data"]["usd_value"] is None
    assert json_logs.events("fee_levels_unavailable")
    assert json_logs.events("exchange_price_unavailable")


async def test_stats_are_stored_for_the_web_process(simulator, json_logs):
    async with running_feed(simulator):
        await simulator.push(added=[minnow(), whale()])
        status = await eventually(
            database_sync_to_async(
                lambda: FeedStatus.objects.filter(processed=2, connected=True).first()
            )
        )
        await eventually(lambda: json_logs.events("feed_stats"))
    assert status.whales == 1 and status.last_message_at is not None
    assert (await database_sync_to_async(mempool_feed_check)())[0] == OK
    final = await database_sync_to_async(FeedStatus.objects.get)()
    assert final.connected is False
    stats_line = json_logs.events("feed_stats")[0]
    assert {"processed", "whales", "parse_errors", "reconnects", "last_message_age_s"} <= set(
        stats_line
    )


def test_feed_health_judges_the_last_message():
    now = timezone.now()
    assert feed_health(None, now)[0] == ERROR
    assert feed_health(FeedStatus(last_message_at=None), now) == (
        ERROR,
        "no message from the mempool backend yet",
    )
    fresh = FeedStatus(last_message_at=now - timedelta(seconds=119))
    assert feed_health(fresh, now) == (OK, None)
    stale = FeedStatus(last_message_at=now - timedelta(seconds=120))
    assert feed_health(stale, now) == (ERROR, "no message from the mempool backend for 120 s")


def test_a_feed_that_just_started_is_connecting_for_two_minutes():
    now = timezone.now()
    restarted = FeedStatus(
        started_at=now - timedelta(seconds=30), last_message_at=now - timedelta(minutes=10)
    )
    assert feed_health(restarted, now) == (OK, None)
    never = FeedStatus(started_at=now - timedelta(seconds=119), last_message_at=None)
    assert feed_health(never, now) == (OK, None)
    silent = FeedStatus(started_at=now - timedelta(seconds=150), last_message_at=None)
    assert feed_health(silent, now) == (
        ERROR,
        "no message from the mempool backend since the feed started 150 s ago",
    )
    heard = FeedStatus(started_at=now - timedelta(minutes=5), last_message_at=now)
    assert feed_health(heard, now) == (OK, None)


def test_feed_config_comes_from_the_settings(settings):
    settings.WHALE_MIN_BTC, settings.WHALE_MIN_USD = 250.0, 5e6
    config = FeedConfig.from_settings()
    assert config.thresholds == Thresholds(250.0, 5e6)
    assert (config.ws_url, config.http_url) == (settings.MEMPOOL_WS_URL, settings.MEMPOOL_URL)
