"""The operator dashboard: the latest days against the exchange price, the 90-day chart with its
gaps, the health summary with 24 h uptime, the whale panel, and the link from the admin index."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from alerts.models import WhaleAlert
from dashboard.selectors import dashboard
from health.models import CheckSample
from prices.store import ProvisionalRecord, open_writer
from tests.health.price_store import publish_garbage
from tests.prices.builders import day_record, invalid

URL = "/admin/dashboard/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def store(tmp_path: Path, settings) -> Path:
    settings.DUCKDB_PATH = tmp_path / "prices.duckdb"
    return settings.DUCKDB_PATH


def write_days(path: Path, records) -> None:
    with open_writer(path) as writer:
        for record in records:
            writer.save_day(record, [])


def days_ago(n: int):
    return datetime.now(UTC).date() - timedelta(days=n)


def sample(name: str, status: str, minutes_ago: float, error: str = "") -> CheckSample:
    return CheckSample(
        check_name=name,
        status=status,
        latency_ms=12.0,
        error=error,
        checked_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def whale(txid: str, hours_ago: float, btc: float = 1_500.0) -> WhaleAlert:
    return WhaleAlert(
        txid=txid,
        value_sats=round(btc * 100_000_000),
        usd_value=btc * 90_000,
        fee=4_200,
        vsize=420,
        fee_rate=10.0,
        rbf=False,
        input_count=1,
        output_count=2,
        largest_output_sats=round(btc * 90_000_000),
        first_seen=timezone.now() - timedelta(hours=hours_ago),
        created_at=timezone.now() - timedelta(hours=hours_ago),
    )


def test_only_staff_see_it(client) -> None:
    assert client.get(URL)["Location"].startswith("/admin/login/")
    user = get_user_model().objects.create_user("viewer", password="not-staff-pass-1")
    client.force_login(user)
    assert client.get(URL)["Location"].startswith("/admin/login/")


def test_the_admin_index_links_the_operator_pages(admin_client) -> None:
    page = admin_client.get("/admin/").content.decode()
    for link in (
        URL,
        "/alerts/live",
        "/admin/health/checksample/service-history/",
        "/admin/prices/priceseries/",
    ):
        assert f'href="{link}"' in page
    assert "Whale alerts" in page  # the app list is still there


def test_prices_health_and_whales(admin_client, store) -> None:
    write_days(
        store,
        [
            day_record(days_ago(1), 91_155.4, exchange_price=91_340.7),
            day_record(days_ago(2), 92_393.2, exchange_price=92_047.0),
            invalid(day_record(days_ago(3), 40_000.0)),
            *(day_record(days_ago(n), 90_000.0 + n) for n in range(4, 31)),
        ],
    )
    CheckSample.objects.bulk_create(
        [
            *(sample("electrs", "ok", minutes) for minutes in (1, 20, 40)),
            sample("electrs", "timeout", 60, "no answer within 2 s"),
            sample("electrs", "error", 60 * 30),  # outside the 24 h
            sample("database", "ok", 1),
        ]
    )
    WhaleAlert.objects.bulk_create([whale("aa" * 32, 2), whale("bb" * 32, 30, btc=900.0)])

    page = admin_client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()

    yesterday, before = re.findall(r'<div class="card" data-date="([0-9-]+)">', html)
    assert (yesterday, before) == (days_ago(1).isoformat(), days_ago(2).isoformat())
    assert "91,155 <small>USD</small>" in html and "exchange 91,341 USD" in html
    assert "(+0.20 %)" in html and "(-0.37 %)" in html
    assert "Yesterday against the day before: <strong>-1.34 %</strong>" in html
    assert f'href="/admin/prices/priceseries/{yesterday}/">valid</a>' in html

    wide, phone = re.findall(r'<svg class="price-chart" viewBox="0 0 (\d+) 260"', html)
    assert (wide, phone) == ("860", "420")
    assert html.count('<line class="gap"') == 2 * 61  # 60 missing and 1 invalid, in both charts
    assert "29 valid, <strong>61</strong> without a valid price." in html

    health = html[html.index('id="dashboard-health"') : html.index('id="dashboard-whales"')]
    electrs = re.search(r'<tr data-check="electrs">.*?</tr>', health, re.S).group(0)
    assert ">ok</span>" in electrs and "75.0 %" in electrs
    database = re.search(r'<tr data-check="database">.*?</tr>', health, re.S).group(0)
    assert "100.0 %" in database
    app_database = re.search(r'<tr data-check="app_database">.*?</tr>', health, re.S).group(0)
    assert "no sample" in app_database and "\u2013</td>" in app_database
    assert "Not ok: app_database" in health and "electrs" not in health.split("Not ok:")[1][:60]

    summary = re.search(r'<span id="whales-24h"[^>]*>', html).group(0)
    last_id = WhaleAlert.objects.order_by("-id").first().id
    assert f'data-after="{last_id}" data-count="1" data-btc="1500.0"' in summary
    assert (
        '<span class="count">1</span> in the last 24 h (<span class="btc">1,500</span> BTC)' in html
    )
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts[-2:] == ["/static/alerts/feed.js", "/static/dashboard/dashboard.js"]
    assert 'data-url="/ws/alerts/"' in html


def test_all_checks_ok(admin_client, store) -> None:
    write_days(store, [day_record(days_ago(1)), day_record(days_ago(2))])
    board = dashboard()
    CheckSample.objects.bulk_create(sample(c.name, "ok", 1) for c in board.health.checks)
    html = admin_client.get(URL).content.decode()
    assert f"All {len(board.health.checks)} checks ok" in html


def test_missing_and_invalid_days_have_no_change(admin_client, store) -> None:
    write_days(store, [invalid(day_record(days_ago(2)))])
    html = admin_client.get(URL).content.decode()
    assert "no price" in html and "status-missing" in html and "status-invalid" in html
    assert "Yesterday against the day before" not in html
    assert dashboard().prices.change_percent is None


def test_an_unreadable_store_leaves_the_rest_of_the_page(admin_client, store) -> None:
    publish_garbage(store)
    page = admin_client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "The price store cannot be read:" in html
    assert 'id="dashboard-health"' in html and 'id="whales"' in html
    assert "price-chart" not in html


def test_an_exchange_price_may_be_unknown(admin_client, store) -> None:
    write_days(store, [day_record(days_ago(1), exchange_price=None), day_record(days_ago(2))])
    assert "exchange unknown" in " ".join(admin_client.get(URL).content.decode().split())


def provisional(blocks: int, price: float | None, **fields) -> ProvisionalRecord:
    today = datetime.now(UTC).date()
    values = {
        "date": today,
        "block_count": blocks,
        "block_first": 900_000,
        "block_last": 900_000 + blocks - 1,
        "last_block_time": datetime.combine(today, time(5, 42)),
        "price": price,
        "output_count": 5_000,
        "price_point_count": 1_200,
        "deviation": 0.08,
        "confidence": 0.7,
        "is_valid": price is not None,
        "invalid_reason": None,
        "algorithm": "utxoracle-9.1",
        "source": "bitcoind",
        "computed_at": datetime.combine(today, time(5, 43)),
        **fields,
    }
    return ProvisionalRecord(**values)


def today_card(admin_client) -> str:
    html = admin_client.get(URL).content.decode()
    card = re.search(r'<div class="card card-today".*?</p>\s*</div>', html, re.S).group(0)
    return " ".join(card.split())


def test_the_today_card_shows_the_provisional_price_so_far(admin_client, store) -> None:
    write_days(store, [day_record(days_ago(1), 90_000.0), day_record(days_ago(2))])
    assert "forming" in today_card(admin_client)
    assert "no block of today seen yet; a provisional price is shown from 12 blocks" in (
        today_card(admin_client)
    )
    with open_writer(store) as writer:
        writer.save_provisional(provisional(7, None))
    assert "7 blocks so far; a provisional price is shown from 12 blocks." in today_card(
        admin_client
    )

    with open_writer(store) as writer:
        writer.save_provisional(provisional(35, 90_912.3))
    card = today_card(admin_client)
    assert f'data-date="{days_ago(0)}"' in card
    assert '<span class="today-price">90,912</span> <small>USD</small>' in card
    assert '<span class="today-blocks">35 blocks to 05:42 UTC</span>' in card
    assert '<span class="today-change">+1.01 %</span> on yesterday' in card
    assert 'data-yesterday="90000.0"' in card
    assert "valid so far" in card

    with open_writer(store) as writer:
        writer.save_provisional(
            provisional(40, 9_000.0, is_valid=False, invalid_reason="price 9,000.00 outside")
        )
    card = today_card(admin_client)
    assert "invalid so far" in card and 'title="price 9,000.00 outside"' in card
    assert "on yesterday" not in card


def test_a_provisional_row_of_another_day_is_not_today(admin_client, store) -> None:
    with open_writer(store) as writer:
        writer.save_provisional(provisional(140, 91_000.0)._replace(date=days_ago(1)))
    assert "no block of today seen yet" in today_card(admin_client)
