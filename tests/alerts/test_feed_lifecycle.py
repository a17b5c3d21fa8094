"""Whales that settle and a feed that survives the real backend's ways, against the mempool
simulator behaving as the real backend does (routes under /api/v1, `mined` only live, `removed`
for drops and replacements, restarts with a catch-up frame, esplora mode)."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async

from alerts.models import AlertStatus, WhaleAlert
from simulators.mempool import MempoolSimulator
from tests.alerts.helpers import eventually, minnow, running_feed, whale

pytestmark = [pytest.mark.channel_layer, pytest.mark.usefixtures("transactional_db")]


@database_sync_to_async
def stored(txid: str) -> WhaleAlert | None:
    return WhaleAlert.objects.filter(txid=txid).first()


async def status_of(txid: str) -> str | None:
    row = await stored(txid)
    return None if row is None else row.status


def updates(published, txid: str) -> list[dict]:
    return [u["data"] for u in published.of_type("whale_update") if u["data"]["txid"] == txid]


async def test_whales_that_leave_while_the_feed_is_away_settle(simulator, published):
    mined, expired, waiting = whale(), whale(), whale()
    async with running_feed(simulator) as feed:
        await simulator.add(mined, expired, waiting)
        await eventually(lambda: len(published.of_type("whale_alert")) == 3)
        simulator.accepting = False
        simulator.disconnect_all()
        await eventually(lambda: not feed.stats.connected)
        block = simulator.mine_quietly([mined["txid"]])  # its `mined` frame reaches no one
        simulator.drop_quietly(expired["txid"])  # expired or evicted meanwhile
        simulator.accepting = True
        await eventually(lambda: updates(published, mined["txid"]))
        await eventually(lambda: updates(published, expired["txid"]))
    confirmed = await stored(mined["txid"])
    assert confirmed.status == AlertStatus.CONFIRMED
    assert (confirmed.block_height, confirmed.confirmed_at.timestamp()) == (
        block.height,
        block.time,
    )
    assert updates(published, mined["txid"])[-1]["block_height"] == block.height
    assert await status_of(expired["txid"]) == AlertStatus.DROPPED
    assert updates(published, expired["txid"])[-1]["status"] == "dropped"
    assert await status_of(waiting["txid"]) == AlertStatus.PENDING


async def test_a_whale_removed_live_is_looked_up_and_dropped(simulator, published):
    gone = whale()
    async with running_feed(simulator):
        await simulator.add(gone)
        await eventually(lambda: published.of_type("whale_alert"))
        await simulator.drop(gone["txid"])
        await eventually(lambda: updates(published, gone["txid"]))
    assert await status_of(gone["txid"]) == AlertStatus.DROPPED
    assert f"/api/v1/tx/{gone['txid']}/status" in simulator.requests


async def test_a_replacement_reported_after_the_drop_wins(simulator, published):
    first, replacement = whale(rbf=True), whale(rbf=True)
    async with running_feed(simulator):
        await simulator.add(first)
        await eventually(lambda: published.of_type("whale_alert"))
        await simulator.drop(first["txid"])
        await eventually(lambda: updates(published, first["txid"]))
        # The backend finds replacements over its last 10 updates: it may report one later.
        await simulator.push(added=[replacement], replaced=[(first["txid"], replacement)])
        await eventually(lambda: len(updates(published, first["txid"])) == 2)
    row = await stored(first["txid"])
    assert (row.status, row.replaced_by) == (AlertStatus.REPLACED, replacement["txid"])


async def test_the_backends_restart_catch_up_loses_no_whale(simulator, published, json_logs):
    """A restarting backend sends its whole mempool in one frame; here it is bigger than the
    feed's frame limit (the same code path as a catch-up of hundreds of MB): the feed drops the
    connection and its resync fetches every transaction the frame held."""
    pending = whale()
    async with running_feed(simulator, max_frame_bytes=64 * 1024) as feed:
        await simulator.add(pending)
        await eventually(lambda: published.of_type("whale_alert"))
        simulator.mine_quietly([pending["txid"]])
        simulator.add_quietly(*[minnow() for _ in range(200)])
        arrived = whale(btc=777)
        simulator.add_quietly(arrived)
        simulator.restart()
        await eventually(lambda: len(published.of_type("whale_alert")) == 2)
        await eventually(lambda: updates(published, pending["txid"]))
        assert feed.stats.connected
    assert published.of_type("whale_alert")[1]["data"]["txid"] == arrived["txid"]
    assert await status_of(pending["txid"]) == AlertStatus.CONFIRMED
    assert any("1009" in line["reason"] for line in json_logs.events("feed_disconnected"))


async def test_a_restarted_worker_alerts_the_whales_that_arrived_while_it_was_stopped(
    simulator, published, json_logs
):
    """The first run takes the mempool as it finds it; the next run catches up: what arrived
    while no worker ran is alerted, what the first run saw (by the backend's first-seen time) is
    not, and nothing is alerted twice."""
    long_ago = time.time() - 7200
    before_first_run = whale(first_seen=long_ago)
    simulator.add_quietly(before_first_run)
    live = whale()
    async with running_feed(simulator):
        await simulator.add(live)
        await eventually(lambda: published.of_type("whale_alert"))
    while_stopped, seen_long_before = whale(btc=321), whale(btc=432, first_seen=long_ago)
    simulator.add_quietly(while_stopped, seen_long_before, minnow())
    async with running_feed(simulator) as feed:
        await eventually(lambda: feed.resume_after is None)
        await eventually(lambda: len(published.of_type("whale_alert")) == 2)
    alerted = [alert["data"]["txid"] for alert in published.of_type("whale_alert")]
    assert alerted == [live["txid"], while_stopped["txid"]]
    assert await stored(seen_long_before["txid"]) is None
    assert await stored(before_first_run["txid"]) is None
    [baseline] = json_logs.events("feed_baseline")
    [resume] = json_logs.events("feed_resume")
    assert (baseline["reason"], resume["mempool_size"]) == ("start", 5)


async def test_a_restart_catch_up_within_the_limit_is_read_as_it_is(simulator, published):
    pending = whale()
    async with running_feed(simulator) as feed:
        await simulator.add(pending)
        await eventually(lambda: published.of_type("whale_alert"))
        block = simulator.mine_quietly([pending["txid"]])
        arrived = whale(btc=555)
        simulator.add_quietly(arrived, minnow())
        simulator.restart()
        await eventually(lambda: len(published.of_type("whale_alert")) == 2)
        await eventually(lambda: updates(published, pending["txid"]))
        await eventually(lambda: feed.stats.resyncs >= 1)  # beside the frames, in its own time
    assert (await stored(pending["txid"])).block_height == block.height


async def test_an_esplora_mode_backend_sends_the_feed_to_electrs(published, json_logs):
    simulator = await MempoolSimulator(backend="esplora").start()
    try:
        async with running_feed(simulator, electrs_url=simulator.electrs_url) as feed:
            missed = whale()
            simulator.add_quietly(missed)
            simulator.disconnect_all()
            await eventually(lambda: published.of_type("whale_alert"))
            assert "backend esplora (transactions from ELECTRS_URL)" in feed.stats.backend
    finally:
        await simulator.stop()
    assert "electrs:/mempool/txids" in simulator.requests
    assert f"electrs:/tx/{missed['txid']}" in simulator.requests
    assert "/api/v1/mempool/txids" not in simulator.requests
    [mode] = json_logs.events("feed_backend")
    assert mode["mode"] == "esplora (transactions from ELECTRS_URL)"


async def test_a_failing_resync_never_stops_the_frames(published, json_logs):
    simulator = await MempoolSimulator(backend="esplora").start()  # no ELECTRS_URL given
    try:
        async with running_feed(simulator, wait_for_baseline=False) as feed:
            await eventually(lambda: json_logs.events("feed_resync_failed"))
            await simulator.add(whale())
            await eventually(lambda: published.of_type("whale_alert"))
            assert feed.stats.connected and "ELECTRS_URL is not set" in feed.stats.backend
    finally:
        await simulator.stop()


async def test_a_backend_without_txindex_leaves_the_whale_pending_until_it_can_tell(published):
    simulator = await MempoolSimulator(txindex=False).start()
    try:
        async with running_feed(simulator, settle_interval=0.2) as feed:
            mined = whale()
            await simulator.add(mined)
            await eventually(lambda: published.of_type("whale_alert"))
            simulator.disconnect_all()
            simulator.mine_quietly([mined["txid"]])
            await eventually(lambda: mined["txid"] in feed.unsettled)
            assert await status_of(mined["txid"]) == AlertStatus.PENDING
            simulator.txindex = True  # the operator turned -txindex on
            await eventually(lambda: updates(published, mined["txid"]))
    finally:
        await simulator.stop()
    assert await status_of(mined["txid"]) == AlertStatus.CONFIRMED


async def test_a_backend_older_than_3_is_named(json_logs):
    simulator = await MempoolSimulator(version="2.5.0").start()
    try:
        async with running_feed(simulator, wait_for_tracking=False) as feed:
            await eventually(lambda: json_logs.events("feed_backend_too_old"))
            assert "track-mempool needs 3.0 or later" in feed.stats.last_error
            assert not simulator.tracking  # the old backend ignores track-mempool
    finally:
        await simulator.stop()


async def test_the_effective_fee_rate_decides_the_urgency(simulator, published):
    child_pays = whale(fee_rate=1.0, effective_fee_rate=25.0)
    async with running_feed(simulator):
        await simulator.add(child_pays)
        frame = (await eventually(lambda: published.of_type("whale_alert")))[0]
    data = frame["data"]
    assert data["fee_rate"] <= 1.1 and data["effective_fee_rate"] == 25.0
    assert data["expected_confirmation"] == "next_block" and data["urgency"] == 1.0
