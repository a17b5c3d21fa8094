"""The admin's price series pages, as staff and as an anonymous visitor."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from prices import selectors
from prices.backfills import queue_backfill
from prices.models import BackfillRequest
from prices.store import SNAPSHOT_POINTER, migrate, open_writer, snapshot_dir
from tests.prices.builders import block_records, day_record, invalid

pytestmark = pytest.mark.django_db
SERIES = "/admin/prices/priceseries/"
BACKFILL = SERIES + "backfill/"


def ago(days: int):
    return selectors.utc_today() - timedelta(days=days)


@pytest.fixture
def staff(client: Client, django_user_model) -> Client:
    """A staff member allowed to read the series and queue backfills."""
    user = django_user_model.objects.create_user("operator", password="pw", is_staff=True)
    codenames = ("view_priceseries", "view_backfillrequest", "add_backfillrequest")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


@pytest.fixture
def series(store_file: Path) -> None:
    """Days 1..90 valid except: 2 invalid, 3 and 40 missing, 4 without exchange price."""
    with open_writer() as writer:
        for days in range(1, 91):
            if days in (3, 40):
                continue
            record = day_record(ago(days), 60_000.0 + days * 10)
            if days == 2:
                record = invalid(record)
            if days == 4:
                record = day_record(ago(days), 61_000.0, exchange_price=None)
            writer.save_day(record, block_records(ago(days), 3) if days == 1 else [])


def test_anonymous_visitors_are_sent_to_the_login(client: Client, series: None) -> None:
    for url in (SERIES, f"{SERIES}{ago(1)}/", "/admin/prices/backfillrequest/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.post(BACKFILL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not BackfillRequest.objects.exists()


def test_staff_find_the_series_page_in_the_admin_index(staff: Client, series: None) -> None:
    page = staff.get("/admin/").content.decode()
    assert "Price series" in page and SERIES in page
    assert "/admin/prices/priceseries/add/" not in page


def test_the_series_page_marks_every_day_and_agrees_with_the_gaps(
    staff: Client, series: None, settings
) -> None:
    settings.HEALTH_GAP_DAYS = 7
    response = staff.get(SERIES)
    assert response.status_code == 200
    page = response.content.decode()
    assert "88 valid" not in page  # day 2 is invalid, two are missing
    assert "87 valid" in page and "1 invalid" in page and "2 missing" in page
    overview = response.context["overview"]
    assert overview.missing == selectors.missing_price_dates(90) == [ago(40), ago(3), ago(2)]
    health_gaps = re.search(r'<p id="health-gaps">(.*?)</p>', page, re.S).group(1)
    assert "<strong>2</strong> days without a valid price" in health_gaps
    assert f"{ago(3)}, {ago(2)}" in health_gaps
    assert overview.health_missing == selectors.missing_price_dates(7)
    assert page.count('class="status-missing"') == 2
    assert page.count('class="status-invalid"') == 1
    assert page.count('class="status-valid"') == 87
    assert f'href="{SERIES}{ago(40)}/"' in page
    rows = re.findall(r'<tr class="day-(\w+)">', page)
    assert len(rows) == 90 and rows[0] == "valid" and rows[1:3] == ["invalid", "missing"]


def test_the_chart_breaks_its_lines_at_gaps(staff: Client, series: None) -> None:
    page = staff.get(SERIES).content.decode()
    svg = re.search(r'<svg class="price-chart".*?</svg>', page, re.S).group(0)
    assert svg.count('class="gap"') == 3
    # on-chain: days 90..41, 39..4 and 1 (alone: a dot); exchange: 90..41, 39..5 and 1
    assert svg.count('<polyline class="onchain"') == 2
    assert svg.count('<circle class="onchain"') == 1
    assert svg.count('<polyline class="exchange"') == 2
    assert svg.count('<circle class="exchange"') == 1


def test_the_day_page_shows_the_blocks_and_the_intraday_chart(staff: Client, series: None) -> None:
    page = staff.get(f"{SERIES}{ago(1)}/").content.decode()
    record = selectors.day_record(ago(1))
    for fact in ("60010.00 USD", "870000 .. 870143 (3 blocks)", "20000", "0.0500", "esplora"):
        assert fact in page
    assert record.computed_at.strftime("%Y-%m-%d %H:%M:%S") in page
    table = re.search(r'<table id="day-blocks">.*?</table>', page, re.S).group(0)
    assert table.count("<tr>") == 4  # header and three blocks
    assert "<td>-</td><td>0</td>" in table  # the block without price points
    assert '<polyline class="onchain"' not in page  # block 1 has no median: two isolated dots
    assert page.count('<circle class="onchain"') == 2
    assert "Backfill this day" not in page


def test_a_missing_day_can_be_backfilled_from_its_page(staff: Client, series: None) -> None:
    page = staff.get(f"{SERIES}{ago(3)}/").content.decode()
    assert "No price is stored for this day." in page and "Backfill this day" in page
    response = staff.post(BACKFILL, {"day": ago(3).isoformat()}, follow=True)
    [request] = BackfillRequest.objects.all()
    assert (request.date_from, request.date_to, request.requested_by.username) == (
        ago(3),
        ago(3),
        "operator",
    )
    assert f"Queued a backfill of {ago(3)}..{ago(3)}." in response.content.decode()


def test_a_bad_day_is_404(staff: Client, series: None) -> None:
    assert staff.get(f"{SERIES}2025-13-01/").status_code == 404
    assert staff.post(BACKFILL, {"day": "nope"}).status_code == 404
    assert staff.get(BACKFILL).status_code == 405


def test_backfill_missing_days_queues_them_once_and_shows_progress(
    staff: Client, series: None
) -> None:
    response = staff.post(BACKFILL, follow=True)
    [request] = BackfillRequest.objects.all()
    assert (request.date_from, request.date_to, request.force) == (ago(40), ago(2), False)
    assert f"Queued a backfill of {ago(40)}..{ago(2)}." in response.content.decode()
    response = staff.post(BACKFILL, follow=True)
    assert "is queued already" in response.content.decode()
    assert BackfillRequest.objects.count() == 1

    BackfillRequest.objects.filter(pk=request.pk).update(
        status="running", days_done=10, current_date=ago(30), blocks_done=50, blocks_total=144
    )
    page = staff.get(SERIES).content.decode()
    assert '<meta http-equiv="refresh" content="5">' in page
    assert '<progress max="39" value="10">' in page and f"{ago(30)}, block 50/144" in page

    BackfillRequest.objects.filter(pk=request.pk).update(status="failed", error="boom")
    page = staff.get(SERIES).content.decode()
    assert "http-equiv" not in page and "<pre>boom</pre>" in page


def test_nothing_to_backfill_when_no_day_is_missing(staff: Client, store_file: Path) -> None:
    with open_writer() as writer:
        for days in range(1, 91):
            writer.save_day(day_record(ago(days)), [])
    page = staff.get(SERIES).content.decode()
    assert "disabled" in page
    response = staff.post(BACKFILL, follow=True)
    assert "No day of the last 90 is missing." in response.content.decode()
    assert not BackfillRequest.objects.exists()


def test_an_empty_series_is_all_missing(staff: Client, store_file: Path) -> None:
    page = staff.get(SERIES).content.decode()
    assert "0 valid" in page and "90 missing" in page
    assert "No backfill has been requested yet." in page
    assert "No data" in page


def test_an_unreadable_store_is_reported_not_a_crash(staff: Client, store_file: Path) -> None:
    migrate()
    (snapshot_dir(store_file) / "9.duckdb").write_bytes(b"\1" * 4096)
    (snapshot_dir(store_file) / SNAPSHOT_POINTER).write_text("9.duckdb")
    for url in (SERIES, f"{SERIES}{ago(1)}/"):
        response = staff.get(url)
        assert response.status_code == 200
        assert "The price store cannot be read" in response.content.decode()
    response = staff.post(BACKFILL, follow=True)
    assert "The price store cannot be read" in response.content.decode()
    assert not BackfillRequest.objects.exists()


def test_backfill_requests_are_read_only(staff: Client, series: None) -> None:
    queue_backfill(ago(5), ago(3))
    response = staff.get("/admin/prices/backfillrequest/")
    assert response.status_code == 200 and "queued" in response.content.decode()
    assert staff.get("/admin/prices/backfillrequest/add/").status_code == 403


def test_the_pages_load_nothing_from_elsewhere(staff: Client, series: None) -> None:
    for url in (SERIES, f"{SERIES}{ago(1)}/"):
        page = staff.get(url).content.decode()
        assert not re.search(r'(src|href)="(https?:)?//', page)
    assert staff.get("/static/prices/admin-series.css").status_code == 200
