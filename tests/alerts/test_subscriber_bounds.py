"""What one subscriber may cost a web process: bounded replay, one replay at a time, sockets per
token and per client address (each test reproduces a finding of the hardening review)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from alerts import tokens
from tests.alerts.helpers import connect_ws, frame_of_type, inject, next_frame, stored_alert

pytestmark = [pytest.mark.channel_layer, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
async def token() -> str:
    _, raw = await database_sync_to_async(tokens.create_token)("bot")
    return raw


@pytest.fixture(autouse=True)
def quick_limits(settings):
    settings.ALERTS_AUTH_TIMEOUT = 5
    settings.ALERTS_RELAY_POLL_SECONDS = 0.05


@database_sync_to_async
def store_alerts(count: int) -> list[int]:
    return [stored_alert().id for _ in range(count)]


async def welcomed(token: str):
    communicator = connect_ws(f"token={token}")
    assert (await communicator.connect())[0]
    assert (await next_frame(communicator))["type"] == "welcome"
    return communicator


async def frames_until(communicator, kind: str, timeout: float = 10.0) -> list[dict]:
    """Every frame up to and including the first of `kind` (heartbeats left out)."""
    frames = []
    while True:
        frame = await next_frame(communicator, timeout)
        if frame.get("type") == "heartbeat":
            continue
        frames.append(frame)
        if frame.get("type") == kind or "closed" in frame:
            return frames


def alert_ids(frames: list[dict]) -> list[int]:
    ids = []
    for frame in frames:
        if frame.get("type") == "whale_alert":
            ids.append(frame["id"])
        elif frame.get("type") == "whale_alerts":
            ids.extend(item["id"] for item in frame["alerts"])
    return ids


async def test_replay_is_capped_per_subscribe_and_pages_on_with_since_id(token, settings):
    """Found: every subscribe with since_id 0 replayed the whole alert history."""
    settings.ALERTS_REPLAY_LIMIT = 10
    settings.ALERTS_REPLAY_PAGE = 4
    ids = await store_alerts(25)
    communicator = await welcomed(token)
    await communicator.send_json_to({"type": "subscribe", "since_id": 0})
    first = await frames_until(communicator, "replay")
    assert first[0]["type"] == "subscribed"
    assert alert_ids(first) == ids[:10]
    assert first[-1] == {"type": "replay", "since_id": 0, "last_id": ids[9], "more": True}

    paused_live = await inject()  # nothing is sent until the client pages on
    assert await communicator.receive_nothing(0.5)

    await communicator.send_json_to({"type": "subscribe", "since_id": ids[9]})
    second = await frames_until(communicator, "replay")
    assert alert_ids(second) == ids[10:20] and second[-1]["more"] is True
    await communicator.send_json_to({"type": "subscribe", "since_id": ids[19]})
    third = await frames_until(communicator, "replay")
    assert alert_ids(third) == [*ids[20:], paused_live.id]
    assert third[-1] == {
        "type": "replay",
        "since_id": ids[19],
        "last_id": paused_live.id,
        "more": False,
    }

    live = await inject()  # the replay reached the newest alert: live alerts follow
    assert (await frame_of_type(communicator, "whale_alert"))["id"] == live.id
    await communicator.disconnect()


async def test_a_subscribe_without_since_id_after_a_capped_replay_starts_from_now(token, settings):
    settings.ALERTS_REPLAY_LIMIT = 3
    await store_alerts(5)
    communicator = await welcomed(token)
    await communicator.send_json_to({"type": "subscribe", "since_id": 0})
    assert (await frames_until(communicator, "replay"))[-1]["more"] is True
    await communicator.send_json_to({"type": "subscribe"})
    assert (await next_frame(communicator))["type"] == "subscribed"
    live = await inject()
    assert (await frame_of_type(communicator, "whale_alert"))["id"] == live.id
    await communicator.disconnect()


async def test_a_newer_subscribe_supersedes_a_running_replay(token, settings):
    """Found: five subscribes with since_id 0 each replayed the whole history, one after the
    other (5 messages of 180 bytes → 15,005 frames)."""
    settings.ALERTS_REPLAY_PAGE = 20
    ids = await store_alerts(300)
    communicator = await welcomed(token)
    for _ in range(5):
        await communicator.send_json_to({"type": "subscribe", "since_id": 0})
    frames = await frames_until(communicator, "replay", timeout=30)
    assert [f for f in frames if f["type"] == "replay"] == [
        {"type": "replay", "since_id": 0, "last_id": ids[-1], "more": False}
    ]
    received = alert_ids(frames)
    assert len(received) < 2 * len(ids)  # at most a page of each superseded replay
    assert received[-len(ids) :] == ids  # the newest subscribe replayed everything, in order
    assert await communicator.receive_nothing(0.5)
    await communicator.disconnect()


async def test_sockets_per_token_are_limited(token, settings):
    """Found: 100 sockets accepted for one token."""
    settings.ALERTS_MAX_SOCKETS_PER_TOKEN = 3
    held = [await welcomed(token) for _ in range(3)]
    extra = connect_ws(f"token={token}")
    assert (await extra.connect())[0]
    assert await next_frame(extra) == {
        "type": "error",
        "code": "too_many_sockets",
        "message": "this token holds 3 sockets already",
    }
    assert await next_frame(extra) == {"closed": 4429}
    _, other = await database_sync_to_async(tokens.create_token)("other bot")
    another = await welcomed(other)  # the limit is per token
    await held.pop().disconnect()
    replacement = await welcomed(token)  # a closed socket gives its place back
    for communicator in [*held, another, replacement]:
        await communicator.disconnect()


async def test_unauthenticated_sockets_per_address_are_limited(token, settings):
    """Found: 200 sockets without a token accepted from one client."""
    settings.ALERTS_MAX_UNAUTHENTICATED_PER_ADDRESS = 2
    address = ("203.0.113.7", 40000)
    waiting = [connect_ws(client=address) for _ in range(2)]
    for communicator in waiting:
        assert (await communicator.connect())[0]
    assert await waiting[0].receive_nothing(0.2)
    extra = connect_ws(client=address)
    assert (await extra.connect())[0]
    refusal = await next_frame(extra)
    assert refusal["code"] == "too_many_sockets" and "waiting to authenticate" in refusal["message"]
    assert await next_frame(extra) == {"closed": 4429}
    elsewhere = connect_ws(client=("198.51.100.2", 40000))  # another address is not affected
    assert (await elsewhere.connect())[0]
    assert await elsewhere.receive_nothing(0.2)

    await waiting[0].send_json_to({"type": "auth", "token": token})
    assert (await next_frame(waiting[0]))["type"] == "welcome"  # authenticated: its place is free
    again = connect_ws(client=address)
    assert (await again.connect())[0]
    assert await again.receive_nothing(0.2)
    for communicator in [*waiting, elsewhere, again]:
        await communicator.disconnect()


async def test_an_unauthenticated_socket_that_times_out_gives_its_place_back(settings):
    settings.ALERTS_MAX_UNAUTHENTICATED_PER_ADDRESS = 1
    settings.ALERTS_AUTH_TIMEOUT = 0.2
    address = ("203.0.113.8", 40000)
    for _ in range(2):
        communicator = connect_ws(client=address)
        assert (await communicator.connect())[0]
        assert (await next_frame(communicator))["code"] == "unauthorized"
        assert await next_frame(communicator) == {"closed": 4401}
