"""The admin day page's price cloud: the data it embeds, the page for a day without a cloud, and
the canvas drawn and saved as a PNG in headless Chromium."""

from __future__ import annotations

import json
import re
import time
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from prices import selectors
from prices.ingestion import PriceIngestion
from prices.models import BackfillRequest
from prices.store import open_writer
from simulators.chain import SimulatorServer
from tests.browser import needs_chromium, wait_for
from tests.prices.builders import block_records, day_record
from tests.prices.upstreams import MempoolStub

SERIES = "/admin/prices/priceseries/"


@pytest.fixture
def staff(client: Client, django_user_model) -> Client:
    user = django_user_model.objects.create_user("operator", password="pw", is_staff=True)
    codenames = ("view_priceseries", "add_backfillrequest")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


@pytest.fixture
def computed_day(store_file: Path, chain: SimulatorServer, mempool: MempoolStub) -> date:
    """The recent chain's last day, computed and saved with its cloud."""
    day = chain.chain.days[-1]
    PriceIngestion(workers=1).compute_and_save(day)
    return day


def embedded_cloud(page: str) -> dict:
    script = re.search(
        r'<script id="price-cloud-data" type="application/json">(.*?)</script>', page
    )
    return json.loads(script.group(1))


@pytest.mark.django_db
def test_the_day_page_embeds_the_cloud_and_the_block_medians(
    staff: Client, computed_day: date
) -> None:
    page = staff.get(f"{SERIES}{computed_day}/").content.decode()
    assert '<canvas id="price-cloud"' in page and "Save PNG" in page
    assert '<script src="/static/prices/price-cloud.js"></script>' in page
    assert "<script>" not in page  # no inline script: the drawing lives in a static file
    cloud = embedded_cloud(page)
    api = staff.get(f"/api/prices/{computed_day}/cloud").json()
    assert {key: cloud[key] for key in api} == api
    record = selectors.day_record(computed_day)
    assert cloud["blocks"] == [record.block_first, record.block_last]
    blocks = [b for b in selectors.blocks_of_day(computed_day) if b.median_price is not None]
    assert [price for _, price in cloud["medians"]] == [b.median_price for b in blocks]
    assert staff.get("/static/prices/price-cloud.js").status_code == 200


@pytest.mark.django_db
def test_a_day_without_a_cloud_says_so_and_can_be_recomputed(
    staff: Client, store_file: Path
) -> None:
    day = date(2025, 1, 1)
    with open_writer() as writer:
        writer.save_day(day_record(day), block_records(day))
    page = staff.get(f"{SERIES}{day}/").content.decode()
    assert 'id="no-cloud"' in page and "price-cloud" not in page
    assert "Recompute this day" in page and '<svg class="price-chart"' in page
    staff.post(f"{SERIES}backfill/", {"day": day.isoformat(), "force": "1"})
    [request] = BackfillRequest.objects.all()
    assert (request.date_from, request.date_to, request.force) == (day, day, True)


@pytest.mark.browser
@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_the_cloud_is_drawn_and_saved_as_a_png(
    live_server, browser, admin_user, computed_day: date, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/admin/login/?next={SERIES}{computed_day}/")
    browser.find_element(By.NAME, "username").send_keys(admin_user.username)
    browser.find_element(By.NAME, "password").send_keys("password")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    canvas = wait_for(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#price-cloud[data-drawn]")
    )[0]
    cloud = selectors.cloud_of_day(computed_day)
    assert canvas.get_attribute("data-drawn") == str(cloud.point_count)
    # pixels of the heatmap (orange: red well above blue) inside the plot area
    orange = browser.execute_script(
        """const c = document.getElementById("price-cloud");
        const pixels = c.getContext("2d").getImageData(96, 64, c.width - 120, c.height - 120).data;
        let n = 0;
        for (let i = 0; i < pixels.length; i += 4) if (pixels[i] > 110 && pixels[i + 2] < 90) n++;
        return n;"""
    )
    assert orange > 2_000

    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    browser.find_element(By.ID, "price-cloud-save").click()
    saved = tmp_path / f"utxoracle-cloud-{computed_day}.png"
    deadline = time.monotonic() + 30
    while not saved.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    data = saved.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 640)
