"""Whales valued by our own price when the mempool backend has none (`USD: -1`): usd_value at the
oracle's on-chain price with usd_source "onchain", in the stored alert, the frame subscribers get,
the REST answer and the admin; the exchange price still wins when the backend has one."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from alerts import tokens
from alerts.detector import Thresholds
from alerts.market import MarketData, oracle_price_usd
from alerts.models import WhaleAlert
from prices.selectors import utc_today
from prices.store import ProvisionalRecord, open_writer, snapshot_dir
from tests.alerts.helpers import eventually, running_feed, stored_alert, whale
from tests.prices.builders import day_record, invalid


@pytest.fixture
def price_store(tmp_path: Path, settings) -> Path:
    """A price store whose latest valid day is yesterday at 95,000 USD."""
    settings.DUCKDB_PATH = tmp_path / "prices.duckdb"
    with open_writer() as writer:
        writer.save_day(day_record(utc_today() - timedelta(days=2), 93_000.0), [])
        writer.save_day(day_record(utc_today() - timedelta(days=1), 95_000.0), [])
    return settings.DUCKDB_PATH


def provisional(price: float, valid: bool = True) -> ProvisionalRecord:
    return ProvisionalRecord(
        date=utc_today(),
        block_count=30,
        block_first=900_000,
        block_last=900_029,
        last_block_time=None,
        price=price,
        output_count=5_000,
        price_point_count=900,
        deviation=0.09,
        confidence=0.6,
        is_valid=valid,
        invalid_reason=None if valid else "deviation too high",
        algorithm="utxoracle-9.1",
        source="bitcoind",
        computed_at=datetime(2025, 1, 1),
    )


def test_the_oracle_price_is_todays_provisional_else_the_latest_valid_day(
    price_store: Path,
) -> None:
    assert oracle_price_usd() == 95_000.0
    with open_writer() as writer:
        writer.save_provisional(provisional(96_500.0, valid=False))
    assert oracle_price_usd() == 95_000.0  # an invalid provisional price is not used
    with open_writer() as writer:
        writer.save_provisional(provisional(96_500.0))
    assert oracle_price_usd() == 96_500.0


def test_only_a_valid_day_of_the_last_week_counts(tmp_path: Path, settings) -> None:
    settings.DUCKDB_PATH = tmp_path / "prices.duckdb"
    assert oracle_price_usd() is None  # nothing published yet
    with open_writer() as writer:
        writer.save_day(day_record(utc_today() - timedelta(days=8), 90_000.0), [])
        writer.save_day(invalid(day_record(utc_today() - timedelta(days=1), 9_000.0)), [])
    assert oracle_price_usd() is None
    with open_writer() as writer:
        writer.save_day(day_record(utc_today() - timedelta(days=7), 91_000.0), [])
    assert oracle_price_usd() == 91_000.0


def test_an_unreadable_store_gives_no_oracle_price(price_store: Path, json_logs) -> None:
    directory = snapshot_dir(price_store)
    (directory / "5.duckdb").write_bytes(b"\0" * 5000)
    (directory / "CURRENT").write_text("5.duckdb")
    assert oracle_price_usd() is None
    assert json_logs.events("onchain_price_unavailable")


def test_the_exchange_price_comes_first() -> None:
    market = MarketData(exchange_usd=100_000.0, onchain_usd=95_000.0)
    assert market.usd_price() == (100_000.0, "exchange")
    assert MarketData(onchain_usd=95_000.0).usd_price() == (95_000.0, "onchain")
    assert MarketData().usd_price() == (None, "onchain")


@database_sync_to_async
def stored(txid: str) -> WhaleAlert | None:
    return WhaleAlert.objects.filter(txid=txid).first()


@pytest.mark.channel_layer
@pytest.mark.usefixtures("transactional_db")
async def test_without_an_exchange_price_whales_are_valued_on_chain(
    simulator, published, price_store: Path
) -> None:
    simulator.price_usd = None  # USD: -1, an offline node
    medium = whale(btc=12)  # a whale only by its USD value
    thresholds = Thresholds(100, min_usd=1_000_000)
    async with running_feed(simulator, thresholds=thresholds) as feed:
        await eventually(lambda: feed.market.onchain_usd == 95_000.0)
        await simulator.push(added=[medium])
        frame = (await eventually(lambda: published.of_type("whale_alert")))[0]
    assert frame["data"]["usd_value"] == 1_140_000.0
    assert frame["data"]["usd_source"] == "onchain"
    row = await stored(medium["txid"])
    assert (row.usd_value, row.usd_source) == (1_140_000.0, "onchain")


@pytest.mark.channel_layer
@pytest.mark.usefixtures("transactional_db")
async def test_with_an_exchange_price_whales_are_valued_at_it(
    simulator, published, price_store: Path
) -> None:
    simulator.price_usd = 100_000.0
    big = whale(btc=150)
    async with running_feed(simulator) as feed:
        await eventually(lambda: feed.market.exchange_usd == 100_000.0)
        await simulator.push(added=[big])
        frame = (await eventually(lambda: published.of_type("whale_alert")))[0]
    assert (frame["data"]["usd_value"], frame["data"]["usd_source"]) == (15_000_000.0, "exchange")


@pytest.mark.django_db
def test_rest_and_admin_show_the_source(client, admin_client) -> None:
    onchain = stored_alert(btc=300, usd_price=95_000.0)
    WhaleAlert.objects.filter(pk=onchain.pk).update(usd_source="onchain")
    unpriced = stored_alert(btc=200, usd_price=None)
    _, raw = tokens.create_token("rest")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    body = client.get(f"/api/whales/{onchain.txid}", **auth).json()
    assert (body["usd_value"], body["usd_source"]) == (28_500_000.0, "onchain")
    body = client.get(f"/api/whales/{unpriced.txid}", **auth).json()
    assert (body["usd_value"], body["usd_source"]) == (None, None)
    page = admin_client.get("/admin/alerts/whalealert/").content.decode()
    assert "USD source" in page and '<td class="field-usd_source">onchain</td>' in page


@pytest.mark.django_db(transaction=True)
def test_alerts_stored_before_the_source_existed_were_valued_at_the_exchange() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("alerts", "0002_whale_lifecycle")])
    old = executor.loader.project_state([("alerts", "0002_whale_lifecycle")]).apps
    Alert = old.get_model("alerts", "WhaleAlert")
    fields = {
        "value_sats": 10**10,
        "fee": 1,
        "vsize": 1,
        "fee_rate": 1.0,
        "rbf": False,
        "input_count": 1,
        "output_count": 1,
        "largest_output_sats": 10**10,
        "first_seen": "2025-01-01T00:00:00Z",
    }
    Alert.objects.create(txid="aa" * 32, usd_value=6_000_000.0, **fields)
    Alert.objects.create(txid="bb" * 32, usd_value=None, **fields)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    sources = dict(WhaleAlert.objects.values_list("txid", "usd_source"))
    assert sources == {"aa" * 32: "exchange", "bb" * 32: None}
