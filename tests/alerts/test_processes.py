"""End to end with real processes: simulator → worker → store → daphne → WebSocket clients."""

from __future__ import annotations

import asyncio
import json
import os
import socket as socket_module
import time

import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from tests.alerts.helpers import Stack, whale

REDIS_URL = os.environ.get("REDIS_URL")


async def start_stack(tmp_path, simulator, *, redis_url=None, daphnes=1, daphne_args=(), **env):
    stack = Stack(
        tmp_path,
        redis_url=redis_url,
        MEMPOOL_URL=simulator.url,
        MEMPOOL_WS_URL=simulator.ws_url,
        **env,
    )
    await asyncio.to_thread(stack.run, "migrate", "--noinput")
    output = await asyncio.to_thread(stack.run, "create_alert_token", "e2e", "--expires-in", "1")
    token = output.strip().splitlines()[-1]
    webs = [await asyncio.to_thread(stack.daphne, *daphne_args) for _ in range(daphnes)]
    return stack, token, webs


async def subscribe(port: int, token: str, **fields) -> ClientConnection:
    socket = await connect(f"ws://127.0.0.1:{port}/ws/alerts/?token={token}")
    assert json.loads(await socket.recv())["type"] == "welcome"
    await socket.send(json.dumps({"type": "subscribe", **fields}))
    assert json.loads(await socket.recv())["type"] == "subscribed"
    return socket


async def next_alert(socket: ClientConnection, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), deadline - time.monotonic()))
        if frame["type"] == "whale_alert":
            return frame


async def feed_ready(stack: Stack, simulator) -> None:
    await simulator.wait_for_tracking(timeout=60)
    worker_log = stack.tmp_path / "worker.log"
    deadline = time.monotonic() + 30
    while "feed_baseline" not in worker_log.read_text():
        assert time.monotonic() < deadline, worker_log.read_text()[-2000:]
        await asyncio.sleep(0.1)


async def test_default_install_streams_a_whale_from_the_worker(tmp_path, simulator):
    """Without Redis the web process relays stored alerts; clients without Origin are welcome."""
    stack, token, (web,) = await start_stack(tmp_path, simulator)
    try:
        stack.worker()
        await feed_ready(stack, simulator)
        socket = await subscribe(web.port, token)
        big = whale(btc=777)
        await simulator.push(added=[big])
        alert = await next_alert(socket)
        assert alert["data"]["txid"] == big["txid"] and alert["data"]["btc_value"] == 777
        await simulator.push(mined=[big["txid"]])
        update = json.loads(await asyncio.wait_for(socket.recv(), 15))
        assert update["type"] == "whale_update" and update["data"]["status"] == "confirmed"
        await socket.close()
        with pytest.raises(websockets.InvalidStatus):
            await connect(
                f"ws://127.0.0.1:{web.port}/ws/alerts/?token={token}",
                origin="https://evil.example",
            )
    finally:
        stack.stop()
    logs = web.log_path.read_text() + (tmp_path / "worker.log").read_text()
    assert token not in logs
    assert '"query": "token=REDACTED"' in web.log_path.read_text()


@pytest.mark.channel_layer
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (a real Redis for the channel layer)")
async def test_two_daphne_processes_with_redis_both_get_every_alert(tmp_path, simulator):
    stack, token, webs = await start_stack(
        tmp_path,
        simulator,
        redis_url=REDIS_URL,
        daphnes=2,
        ALERTS_SAFETY_POLL_SECONDS="3600",  # so only the channel layer can deliver
    )
    try:
        stack.worker()
        await feed_ready(stack, simulator)
        sockets = [await subscribe(web.port, token) for web in webs for _ in range(2)]
        whales = [whale(btc=500 + i) for i in range(3)]
        await simulator.push(added=whales[:2])
        await simulator.push(added=whales[2:])
        expected = [w["txid"] for w in whales]
        for socket in sockets:
            assert [(await next_alert(socket))["data"]["txid"] for _ in whales] == expected
            await socket.close()
    finally:
        stack.stop()


async def test_dead_connections_are_dropped_by_the_server_heartbeat(tmp_path, simulator):
    stack, token, (web,) = await start_stack(
        tmp_path, simulator, daphne_args=("--ping-interval", "1", "--ping-timeout", "1")
    )
    try:
        socket = await subscribe(web.port, token)
        socket.transport.pause_reading()  # the client vanishes: no reads, no pongs
        deadline = time.monotonic() + 20
        while "subscriber_disconnected" not in web.log_path.read_text():
            assert time.monotonic() < deadline, "the server kept a dead connection"
            await asyncio.sleep(0.2)
        socket.transport.abort()
    finally:
        stack.stop()


BULK_ALERTS = """
import random
from datetime import UTC, datetime
from alerts.models import WhaleAlert
rng = random.Random({seed})
now = datetime.now(UTC)
WhaleAlert.objects.bulk_create(
    WhaleAlert(
        txid=rng.randbytes(32).hex(), value_sats=30_000_000_000, fee=5_000, vsize=200,
        fee_rate=25.0, rbf=False, input_count=1, output_count=2,
        largest_output_sats=20_000_000_000, first_seen=now,
    )
    for _ in range({count})
)
"""


async def test_a_client_that_stops_reading_is_told_to_resume_and_loses_nothing(tmp_path, simulator):
    stack, token, (web,) = await start_stack(
        tmp_path, simulator, ALERTS_CLIENT_QUEUE="20", ALERTS_REPLAY_LIMIT="20000"
    )
    try:
        await asyncio.to_thread(stack.run, "shell", "-c", BULK_ALERTS.format(seed=1, count=10_000))
        raw = socket_module.socket()
        raw.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", web.port))
        slow = await connect(f"ws://127.0.0.1:{web.port}/ws/alerts/?token={token}", sock=raw)
        assert json.loads(await slow.recv())["type"] == "welcome"
        await slow.send(json.dumps({"type": "subscribe", "since_id": 0}))
        slow.transport.pause_reading()  # stops reading while the replay is streaming
        fast = await subscribe(web.port, token)
        await asyncio.to_thread(stack.run, "shell", "-c", BULK_ALERTS.format(seed=2, count=100))
        fast_ids = [(await next_alert(fast))["id"] for _ in range(100)]
        deadline = time.monotonic() + 20
        while "subscriber_lagging" not in web.log_path.read_text():
            assert time.monotonic() < deadline, "the slow client was never told to resume"
            await asyncio.sleep(0.1)
        slow.transport.resume_reading()
        received, lag = [], None
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            async for message in slow:
                frame = json.loads(message)
                if frame["type"] == "whale_alert":
                    received.append(frame["id"])
                elif frame["type"] == "lag":
                    lag = frame
        assert 0 < len(received) < 10_100
        # The lag frame and 4409 arrive unless the client is still reading megabytes of backlog
        # when the server's close handshake times out; either way it resumes from its last id.
        if closed.value.rcvd is not None:
            assert closed.value.rcvd.code == 4409
            assert lag == {"type": "lag", "last_id": received[-1]}
        resumed = await subscribe(web.port, token, since_id=received[-1])
        while len(received) < 10_100:
            received.append((await next_alert(resumed))["id"])
        assert received == list(range(1, 10_101)) and received[-100:] == fast_ids
    finally:
        stack.stop()


async def test_a_burst_reaches_plain_and_batch_subscribers_whole_and_in_order(tmp_path, simulator):
    """Under daphne the hub writes each run's prepared frames straight to the sockets."""
    stack, token, (web,) = await start_stack(tmp_path, simulator)
    try:
        plain = await subscribe(web.port, token)
        batched = await subscribe(web.port, token, batch=True)
        await asyncio.to_thread(stack.run, "shell", "-c", BULK_ALERTS.format(seed=3, count=300))
        plain_ids = [(await next_alert(plain))["id"] for _ in range(300)]
        batch_ids, batch_frames = [], 0
        while len(batch_ids) < 300:
            frame = json.loads(await asyncio.wait_for(batched.recv(), 30))
            assert frame["type"] == "whale_alerts"
            batch_frames += 1
            batch_ids += [alert["id"] for alert in frame["alerts"]]
        assert plain_ids == batch_ids == list(range(1, 301))
        assert batch_frames < 300 // 2  # runs of alerts, not one frame each
        for socket in (plain, batched):
            await socket.close()
    finally:
        stack.stop()
    assert '"direct_writes": true' in web.log_path.read_text()
