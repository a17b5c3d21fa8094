"""The /ws/alerts/ protocol through the real ASGI stack (correlation ID, Origin check, auth)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from alerts import store, tokens
from alerts.events import ALERT, UPDATE, event_for, publish
from alerts.hub import hub_for_this_loop
from alerts.limits import SubscriberLimits
from alerts.models import AlertToken
from tests.alerts.helpers import connect_ws, frame_of_type, inject, next_frame, subscriber

pytestmark = [pytest.mark.channel_layer, pytest.mark.usefixtures("transactional_db")]

create_token = database_sync_to_async(tokens.create_token)


@pytest.fixture
async def token() -> str:
    _, raw = await create_token("bot")
    return raw


@pytest.fixture(autouse=True)
def quick_limits(settings):
    settings.ALERTS_AUTH_TIMEOUT = 0.5
    settings.ALERTS_RELAY_POLL_SECONDS = 0.05


async def test_token_in_query_string_gets_a_welcome(token):
    previous = await inject()
    communicator = connect_ws(
        f"token={token}", headers=[(b"x-correlation-id", b"client-chosen-id")]
    )
    assert (await communicator.connect())[0]
    welcome = await next_frame(communicator)
    assert welcome["type"] == "welcome"
    assert welcome["correlation_id"] == "client-chosen-id"
    assert welcome["last_alert_id"] == previous.id
    assert welcome["server_time"].endswith("Z")
    await communicator.disconnect()


async def test_token_as_bearer_subprotocol(token):
    communicator = connect_ws(subprotocols=[f"bearer.{token}"])
    connected, subprotocol = await communicator.connect()
    assert connected and subprotocol == f"bearer.{token}"
    assert (await next_frame(communicator))["type"] == "welcome"
    await communicator.disconnect()


async def test_bearer_subprotocol_with_the_protocol_name_is_not_echoed(token):
    communicator = connect_ws(subprotocols=["alerts.v1", f"bearer.{token}"])
    connected, subprotocol = await communicator.connect()
    assert connected and subprotocol == "alerts.v1"
    assert (await next_frame(communicator))["type"] == "welcome"
    await communicator.disconnect()


async def test_token_in_a_first_auth_message(token):
    communicator = connect_ws()
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"type": "auth", "token": token})
    assert (await next_frame(communicator))["type"] == "welcome"
    await communicator.send_json_to({"type": "auth", "token": token})
    assert (await next_frame(communicator))["code"] == "already_authenticated"
    await communicator.disconnect()


async def _expired_token() -> str:
    _, raw = await create_token("old", expires_in_days=-1)
    return raw


async def _revoked_token() -> str:
    row, raw = await create_token("gone")
    await database_sync_to_async(tokens.revoke)(row)
    return raw


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: "wat_" + "x" * 10, "token malformed"),
        (lambda: tokens.new_token(), "token unknown"),
        (_expired_token, "token expired"),
        (_revoked_token, "token revoked"),
    ],
)
@pytest.mark.parametrize("how", ["query", "subprotocol", "message"])
async def test_bad_tokens_are_closed_with_4401(make, reason, how):
    raw = make()
    raw = await raw if asyncio.iscoroutine(raw) else raw
    if how == "query":
        communicator = connect_ws(f"token={raw}")
    elif how == "subprotocol":
        communicator = connect_ws(subprotocols=[f"bearer.{raw}"])
    else:
        communicator = connect_ws()
    assert (await communicator.connect())[0]
    if how == "message":
        await communicator.send_json_to({"type": "auth", "token": raw})
    error = await next_frame(communicator)
    assert error == {"type": "error", "code": "unauthorized", "message": reason}
    assert await next_frame(communicator) == {"closed": 4401}


async def test_no_token_at_all_is_closed_after_the_auth_timeout():
    communicator = connect_ws()
    assert (await communicator.connect())[0]
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await next_frame(communicator))["message"] == "no auth message within 0.5 s"
    assert await next_frame(communicator) == {"closed": 4401}
    assert 0.4 < loop.time() - started < 2


@pytest.mark.parametrize("first", ['{"type": "ping"}', "not json", '{"type": "auth"}'])
async def test_first_message_must_be_a_valid_auth(first):
    communicator = connect_ws()
    assert (await communicator.connect())[0]
    await communicator.send_to(text_data=first)
    assert (await next_frame(communicator))["code"] == "unauthorized"
    assert await next_frame(communicator) == {"closed": 4401}


def staff_login(*, may_view: bool = True) -> tuple[Client, bytes]:
    """A logged-in staff client (with the view permission on whale alerts unless told not) and
    its session cookie."""
    staff = get_user_model().objects.create_user("operator", password="pw", is_staff=True)
    if may_view:
        staff.user_permissions.add(Permission.objects.get(codename="view_whalealert"))
    client = Client()
    client.force_login(staff)
    return client, f"sessionid={client.cookies['sessionid'].value}".encode()


def staff_socket(cookie: bytes):
    return connect_ws(headers=[(b"cookie", cookie)])


async def test_staff_session_needs_no_token():
    _, cookie = await database_sync_to_async(staff_login)()
    communicator = staff_socket(cookie)
    assert (await communicator.connect())[0]
    assert (await next_frame(communicator))["type"] == "welcome"
    await communicator.disconnect()


async def test_staff_without_the_view_permission_is_refused_with_4403():
    _, cookie = await database_sync_to_async(staff_login)(may_view=False)
    communicator = staff_socket(cookie)
    assert (await communicator.connect())[0]
    assert await next_frame(communicator) == {
        "type": "error",
        "code": "forbidden",
        "message": "the staff login lacks the permission alerts.view_whalealert",
    }
    assert await next_frame(communicator) == {"closed": 4403}


@pytest.mark.parametrize("change", ["logout", "permission"])
async def test_a_staff_socket_ends_after_logout_or_losing_the_permission(settings, change):
    """Found open after logout: only is_active/is_staff were checked again, not the session."""
    settings.ALERTS_SESSION_CHECK_SECONDS = 0.2
    client, cookie = await database_sync_to_async(staff_login)()
    communicator = staff_socket(cookie)
    assert (await communicator.connect())[0]
    assert (await next_frame(communicator))["type"] == "welcome"
    assert (await frame_of_type(communicator, "heartbeat"))["type"] == "heartbeat"
    if change == "logout":
        await database_sync_to_async(client.logout)()
        expected = ("unauthorized", 4401)
    else:
        user = await database_sync_to_async(get_user_model().objects.get)(username="operator")
        await database_sync_to_async(user.user_permissions.clear)()
        expected = ("forbidden", 4403)
    error = await frame_of_type(communicator, "error", timeout=10)
    assert error["code"] == expected[0]
    assert await next_frame(communicator) == {"closed": expected[1]}


async def test_foreign_browser_origin_is_refused(token):
    communicator = connect_ws(f"token={token}", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected


async def test_subscribe_reports_effective_filters_and_streams_alerts(token):
    communicator = connect_ws(f"token={token}")
    await communicator.connect()
    await next_frame(communicator)
    await communicator.send_json_to({"type": "subscribe", "min_btc": 200})
    assert await next_frame(communicator) == {
        "type": "subscribed",
        "filters": {"min_btc": 200.0, "min_usd": None, "rbf_only": False},
        "since_id": None,
        "batch": False,
        "prices": False,
    }
    await inject(btc=150)
    big = await inject(btc=250)
    alert = await frame_of_type(communicator, "whale_alert")
    assert alert["id"] == big.id and alert["data"]["txid"] == big.txid
    assert set(alert["data"]) >= {
        "txid",
        "btc_value",
        "usd_value",
        "fee",
        "vsize",
        "fee_rate",
        "rbf",
        "urgency",
        "expected_confirmation",
        "input_count",
        "output_count",
        "largest_output_btc",
        "first_seen",
    }
    assert alert["timestamp"].endswith("Z")
    await communicator.disconnect()


async def test_rbf_and_usd_filters(token):
    rbf_only = await subscriber(token, rbf_only=True)
    usd = await subscriber(token, min_usd=20_000_000)
    plain = await inject(btc=300, rbf=False)  # 18 M USD
    signalling = await inject(btc=400, rbf=True)  # 24 M USD
    unpriced = await inject(btc=900, rbf=True, usd_price=None)
    got_rbf = [await frame_of_type(rbf_only, "whale_alert") for _ in range(2)]
    assert [f["id"] for f in got_rbf] == [signalling.id, unpriced.id]
    assert (await frame_of_type(usd, "whale_alert"))["id"] == signalling.id
    last = await inject(btc=1000, rbf=True)
    assert (await frame_of_type(usd, "whale_alert"))["id"] == last.id
    assert plain.id < signalling.id
    await rbf_only.disconnect()
    await usd.disconnect()


async def test_status_changes_are_sent_as_updates(token):
    communicator = await subscriber(token)
    row = await inject()
    assert (await frame_of_type(communicator, "whale_alert"))["id"] == row.id
    changed = await database_sync_to_async(store.mark_replaced)(row.txid, "ff" * 32)
    await publish(event_for(changed, UPDATE))
    update = await frame_of_type(communicator, "whale_update")
    assert update["id"] == row.id
    assert update["data"]["status"] == "replaced" and update["data"]["replaced_by"] == "ff" * 32
    await communicator.disconnect()


async def test_replay_then_live_without_gap_or_duplicate(token):
    rows = [await inject() for _ in range(6)]
    communicator = connect_ws(f"token={token}")
    await communicator.connect()
    await next_frame(communicator)
    await communicator.send_json_to({"type": "subscribe", "since_id": rows[1].id})
    assert (await next_frame(communicator))["since_id"] == rows[1].id

    async def produce_more() -> None:
        for _ in range(10):
            await inject()

    producer = asyncio.create_task(produce_more())
    ids = []
    while len(ids) < 14:
        ids.append((await frame_of_type(communicator, "whale_alert"))["id"])
    await producer
    assert ids == list(range(rows[2].id, rows[2].id + 14))
    assert await communicator.receive_nothing(0.4)
    await communicator.disconnect()


async def test_batch_subscribers_get_each_run_in_one_frame(token, settings):
    settings.ALERTS_RELAY_POLL_SECONDS = settings.ALERTS_SAFETY_POLL_SECONDS = 3600
    settings.ALERTS_REPLAY_PAGE = 3
    old = [await inject(announce=False) for _ in range(4)]
    communicator = connect_ws(f"token={token}")
    await communicator.connect()
    await next_frame(communicator)
    await communicator.send_json_to({"type": "subscribe", "since_id": 0, "batch": True})
    assert (await next_frame(communicator))["batch"] is True
    replayed = [await next_frame(communicator) for _ in range(3)]
    assert [f["type"] for f in replayed] == ["whale_alerts", "whale_alerts", "replay"]
    assert [[a["id"] for a in f["alerts"]] for f in replayed[:2]] == [
        [row.id for row in old[:3]],
        [old[3].id],
    ]

    burst = [await inject(announce=False) for _ in range(5)]
    hub = hub_for_this_loop(SubscriberLimits.from_settings())
    hub.dispatch([event_for(row, ALERT) for row in burst])
    batch = await next_frame(communicator)
    assert batch["type"] == "whale_alerts"
    assert [a["id"] for a in batch["alerts"]] == [row.id for row in burst]
    assert {a["type"] for a in batch["alerts"]} == {"whale_alert"}

    changed = await database_sync_to_async(store.mark_confirmed)(burst[0].txid, 900_002, None)
    await publish(event_for(changed, UPDATE))
    update = await frame_of_type(communicator, "whale_alerts")
    assert [(a["type"], a["id"]) for a in update["alerts"]] == [("whale_update", burst[0].id)]
    await communicator.disconnect()


async def test_a_status_change_arriving_twice_is_sent_once(token):
    communicator = await subscriber(token)
    row = await inject()
    assert (await frame_of_type(communicator, "whale_alert"))["id"] == row.id
    changed = await database_sync_to_async(store.mark_confirmed)(row.txid, 900_003, None)
    await publish(event_for(changed, UPDATE))  # and the relay finds the same change in the store
    assert (await frame_of_type(communicator, "whale_update"))["id"] == row.id
    assert await communicator.receive_nothing(0.5)
    await communicator.disconnect()


async def test_since_id_beyond_the_newest_alert_waits_for_new_ones(token):
    newest = await inject()
    communicator = await subscriber(token, since_id=newest.id + 1000)
    fresh = await inject()
    assert (await frame_of_type(communicator, "whale_alert"))["id"] == fresh.id
    await communicator.disconnect()


async def test_a_lost_live_message_is_filled_from_the_store(token, settings):
    settings.ALERTS_RELAY_POLL_SECONDS = settings.ALERTS_SAFETY_POLL_SECONDS = 3600
    communicator = await subscriber(token)
    unannounced = await inject(announce=False)
    announced = await inject()
    first = await frame_of_type(communicator, "whale_alert")
    second = await frame_of_type(communicator, "whale_alert")
    assert (first["id"], second["id"]) == (unannounced.id, announced.id)
    await communicator.disconnect()


async def test_alerts_the_channel_layer_missed_come_from_the_store(token, settings):
    settings.ALERTS_SAFETY_POLL_SECONDS = 0.05  # with Redis the store is polled as a safety net
    communicator = await subscriber(token)
    row = await inject(announce=False)
    assert (await frame_of_type(communicator, "whale_alert"))["id"] == row.id
    changed = await database_sync_to_async(store.mark_confirmed)(row.txid, 900_001, None)
    update = await frame_of_type(communicator, "whale_update")
    assert update["data"]["status"] == "confirmed" and update["id"] == changed.id
    await communicator.disconnect()


async def test_twelve_subscribers_receive_the_same_alerts(token, settings):
    settings.ALERTS_MAX_SOCKETS_PER_TOKEN = 12
    subscribers = await asyncio.gather(*(subscriber(token) for _ in range(12)))
    rows = [await inject() for _ in range(5)]
    expected = [row.id for row in rows]
    for communicator in subscribers:
        got = [(await frame_of_type(communicator, "whale_alert"))["id"] for _ in rows]
        assert got == expected
    await asyncio.gather(*(communicator.disconnect() for communicator in subscribers))


async def test_ping_pong_and_heartbeat(token, settings):
    settings.ALERTS_SESSION_CHECK_SECONDS = 0.2
    communicator = await subscriber(token)
    await communicator.send_json_to({"type": "ping"})
    assert (await next_frame(communicator))["type"] == "pong"
    heartbeat = await frame_of_type(communicator, "heartbeat")
    assert heartbeat["server_time"] and "last_id" in heartbeat
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("{nope", "bad_json", "the message is not valid JSON"),
        ("[1]", "bad_message", "a message is a JSON object with a string 'type'"),
        ('{"type": "dance"}', "unknown_type", None),
        ('{"type": "subscribe", "min_btc": "lots"}', "bad_field", "min_btc must be"),
        ('{"type": "subscribe", "min_btc": -1}', "bad_field", "min_btc must be"),
        ('{"type": "subscribe", "min_usd": true}', "bad_field", "min_usd must be"),
        ('{"type": "subscribe", "rbf_only": "yes"}', "bad_field", "rbf_only"),
        ('{"type": "subscribe", "since_id": 1.5}', "bad_field", "since_id"),
        ('{"type": "subscribe", "batch": 1}', "bad_field", "batch must be true or false"),
        ('{"type": "subscribe", "colour": "red"}', "bad_field", "unknown field(s): colour"),
    ],
)
async def test_bad_messages_get_an_error_and_the_connection_stays(token, text, code, message):
    communicator = connect_ws(f"token={token}")
    await communicator.connect()
    await next_frame(communicator)
    await communicator.send_to(text_data=text)
    error = await next_frame(communicator)
    assert error["type"] == "error" and error["code"] == code
    assert message is None or error["message"].startswith(message)
    await communicator.send_to(bytes_data=b"\x00")
    assert (await next_frame(communicator))["code"] == "bad_message"
    await communicator.send_json_to({"type": "ping"})
    assert (await next_frame(communicator))["type"] == "pong"
    await communicator.disconnect()


async def test_oversized_frame_is_refused_with_4408(token):
    communicator = connect_ws(f"token={token}")
    await communicator.connect()
    await next_frame(communicator)
    await communicator.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * 65_536}))
    assert (await next_frame(communicator))["code"] == "too_large"
    assert await next_frame(communicator) == {"closed": 4408}


async def test_more_than_twenty_messages_a_second_is_refused_with_4429(token):
    communicator = connect_ws(f"token={token}")
    await communicator.connect()
    await next_frame(communicator)
    for _ in range(21):
        await communicator.send_json_to({"type": "ping"})
    frames = [await next_frame(communicator) for _ in range(22)]
    assert [f.get("type") for f in frames[:20]] == ["pong"] * 20
    assert frames[20]["code"] == "rate_limited"
    assert frames[21] == {"closed": 4429}


async def test_twenty_messages_a_second_are_fine(token):
    communicator = connect_ws(f"token={token}")
    await communicator.connect()
    await next_frame(communicator)
    for _ in range(2):
        for _ in range(20):
            await communicator.send_json_to({"type": "ping"})
        for _ in range(20):
            assert (await next_frame(communicator))["type"] == "pong"
        await asyncio.sleep(1.05)
    await communicator.disconnect()


@pytest.mark.parametrize("change", ["revoke", "expire"])
async def test_token_revoked_or_expiring_mid_session_closes_it(token, settings, change):
    settings.ALERTS_SESSION_CHECK_SECONDS = 0.2
    communicator = await subscriber(token)
    row = await database_sync_to_async(AlertToken.objects.get)(key_hash=tokens.hash_token(token))
    if change == "revoke":
        await database_sync_to_async(tokens.revoke)(row)
    else:
        row.expires_at = timezone.now() + timedelta(seconds=0.3)
        await database_sync_to_async(row.save)()
    error = await frame_of_type(communicator, "error", timeout=3)
    assert error["message"] == f"token {change}d".replace("expired", "expired")
    assert await next_frame(communicator) == {"closed": 4401}


async def test_overflowing_client_gets_lag_and_resumes_with_since_id(token, settings):
    settings.ALERTS_CLIENT_QUEUE = 3
    settings.ALERTS_RELAY_POLL_SECONDS = settings.ALERTS_SAFETY_POLL_SECONDS = 3600
    communicator = await subscriber(token)
    rows = [await inject(announce=False) for _ in range(8)]
    hub = hub_for_this_loop(SubscriberLimits.from_settings())
    for row in rows:  # one burst, faster than any socket drains
        hub.dispatch([event_for(row, ALERT)])
    lag = await frame_of_type(communicator, "lag")
    assert lag["last_id"] < rows[0].id  # nothing of the burst was sent
    assert await next_frame(communicator) == {"closed": 4409}
    resumed = await subscriber(token, since_id=lag["last_id"])
    got = [(await frame_of_type(resumed, "whale_alert"))["id"] for _ in rows]
    assert got == [row.id for row in rows]
    await resumed.disconnect()


async def test_tokens_stay_out_of_the_logs(token, json_logs):
    communicator = connect_ws(f"token={token}&client=bot")
    await communicator.connect()
    await next_frame(communicator)
    await communicator.disconnect()
    assert token not in json_logs.stream.getvalue()
    assert json_logs.events("subscriber_connected")[0]["query"] == "token=REDACTED&client=bot"


async def test_the_hub_keeps_listening_after_a_channel_layer_error(token, settings, json_logs):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "tests.alerts.flaky_layer.FirstReceiveFailsLayer"}
    }
    settings.ALERTS_RELAY_POLL_SECONDS = settings.ALERTS_SAFETY_POLL_SECONDS = 3600
    communicator = await subscriber(token)
    row = await inject()
    assert (await frame_of_type(communicator, "whale_alert"))["id"] == row.id
    assert json_logs.events("alert_hub_receive_failed")
    await communicator.disconnect()
