"""Price events on the subscriber WebSocket: with `"prices": true` a subscriber gets
`price_today` when the day in progress is priced anew and `price_day` when a day is stored, from
the hub's watch of the price store; without it, none."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from alerts import tokens
from alerts.price_events import PRICE_DAY, PRICE_TODAY, PriceWatch
from prices.selectors import utc_today
from prices.store import ProvisionalRecord, open_writer, utc_now
from tests.alerts.helpers import connect_ws, frame_of_type, next_frame, subscriber
from tests.prices.builders import day_record, provisional_record


@pytest.fixture
def price_store(tmp_path: Path, settings) -> Path:
    settings.DUCKDB_PATH = tmp_path / "prices.duckdb"
    with open_writer() as writer:
        writer.save_day(day_record(utc_today() - timedelta(days=2), 93_000.0), [])
    return settings.DUCKDB_PATH


def provisional(blocks: int, price: float | None, day: date | None = None) -> ProvisionalRecord:
    """Today after `blocks` blocks, its times moving with them (the hub tells rows apart by them)."""
    day = day or utc_today()
    last_block = datetime.combine(day, time(4, 0)) + timedelta(minutes=blocks)
    return provisional_record(
        day,
        blocks,
        price,
        last_block_time=last_block,
        computed_at=last_block + timedelta(minutes=1),
    )


def save_provisional(record: ProvisionalRecord) -> None:
    with open_writer() as writer:
        writer.save_provisional(record)


def save_day(price: float, computed_at: datetime | None = None) -> None:
    record = day_record(
        utc_today() - timedelta(days=1), price, computed_at=computed_at or utc_now()
    )
    with open_writer() as writer:
        writer.save_day(record, [])


def test_the_watch_reports_what_changed_after_its_first_look(price_store: Path) -> None:
    save_provisional(provisional(20, 94_000.0))
    watch = PriceWatch()
    assert watch.poll() == []  # what was there before is not news
    assert watch.poll() == []

    save_provisional(provisional(21, 94_100.0))
    [event] = watch.poll()
    assert event.kind == PRICE_TODAY and '"price":94100.0' in event.frame
    assert '"block_count":21' in event.frame and '"provisional":true' in event.frame

    save_day(95_000.0)
    [event] = watch.poll()
    assert event.kind == PRICE_DAY
    assert f'"timestamp":"{utc_today() - timedelta(days=1)}"' in event.frame
    assert '"utxoracle_price":95000.0' in event.frame

    save_provisional(provisional(3, None))  # not formed: nothing to tell
    save_provisional(provisional(40, 94_400.0, day=utc_today() - timedelta(days=1)))  # not today
    assert watch.poll() == []


def test_days_saved_out_of_the_order_of_their_stamps_are_all_told(price_store: Path) -> None:
    watch = PriceWatch()
    watch.poll()
    now = utc_now()
    with open_writer() as writer:  # two writers: the later stamp lands first
        writer.save_day(day_record(utc_today() - timedelta(days=3), 92_000.0, computed_at=now), [])
    assert [e.kind for e in watch.poll()] == [PRICE_DAY]
    with open_writer() as writer:
        earlier = now - timedelta(seconds=20)
        writer.save_day(
            day_record(utc_today() - timedelta(days=4), 91_000.0, computed_at=earlier), []
        )
    [event] = watch.poll()
    assert f'"timestamp":"{utc_today() - timedelta(days=4)}"' in event.frame
    assert watch.poll() == []


def test_an_empty_store_is_watched_until_it_has_prices(tmp_path: Path, settings) -> None:
    settings.DUCKDB_PATH = tmp_path / "prices.duckdb"
    watch = PriceWatch()
    assert watch.poll() == []
    save_day(95_000.0)
    assert [event.kind for event in watch.poll()] == [PRICE_DAY]


create_token = database_sync_to_async(tokens.create_token)


@pytest.mark.channel_layer
@pytest.mark.usefixtures("transactional_db")
async def test_subscribers_asking_for_prices_get_them_and_the_others_do_not(
    price_store: Path, settings
) -> None:
    settings.ALERTS_RELAY_POLL_SECONDS = 0.05
    _, raw = await create_token("prices")
    wanting = await subscriber(raw, prices=True)
    plain = await subscriber(raw)
    await database_sync_to_async(save_provisional)(provisional(30, 94_321.0))
    today = await frame_of_type(wanting, PRICE_TODAY, timeout=10)
    assert today["data"]["price"] == 94_321.0 and today["data"]["block_count"] == 30
    assert today["data"]["date"] == utc_today().isoformat()
    assert today["timestamp"].endswith("Z")
    await database_sync_to_async(save_day)(95_500.0)
    day = await frame_of_type(wanting, PRICE_DAY, timeout=10)
    assert day["data"]["timestamp"] == (utc_today() - timedelta(days=1)).isoformat()
    assert day["data"]["utxoracle_price"] == 95_500.0 and day["data"]["is_valid"] is True

    await plain.send_json_to({"type": "ping"})
    assert (await next_frame(plain))["type"] == "pong"  # and nothing before it
    for communicator in (wanting, plain):
        await communicator.disconnect()


@pytest.mark.channel_layer
@pytest.mark.usefixtures("transactional_db")
async def test_prices_must_be_a_boolean(price_store: Path) -> None:
    _, raw = await create_token("prices")
    communicator = connect_ws(f"token={raw}")
    await communicator.connect()
    await next_frame(communicator)
    await communicator.send_json_to({"type": "subscribe", "prices": "yes"})
    assert await next_frame(communicator) == {
        "type": "error",
        "code": "bad_field",
        "message": "prices must be true or false",
    }
    await communicator.send_json_to({"type": "subscribe", "prices": True})
    assert (await next_frame(communicator))["prices"] is True
    await communicator.disconnect()
