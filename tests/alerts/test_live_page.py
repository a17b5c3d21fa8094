"""The operators' live page in headless Chromium: login, live alerts, filters, resume after an outage."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.alerts.helpers import Stack, whale
from tests.browser import needs_chromium, wait_for

pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

pytestmark = [pytest.mark.browser, needs_chromium]


def row_for(txid: str):
    return expected_conditions.presence_of_element_located(
        (By.CSS_SELECTOR, f'#alerts tr[data-txid="{txid}"]')
    )


def live(driver) -> bool:
    return driver.find_element(By.ID, "live-status").get_attribute("data-state") == "live"


def log_in(driver, base: str) -> None:
    driver.get(f"{base}/alerts/live")
    driver.find_element(By.NAME, "username").send_keys("operator")
    driver.find_element(By.NAME, "password").send_keys("a-long-test-password")
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(driver, live)


async def test_an_alert_from_the_feed_appears_live_and_after_an_outage(
    tmp_path, simulator, browser
):
    stack = Stack(
        tmp_path,
        MEMPOOL_URL=simulator.url,
        MEMPOOL_WS_URL=simulator.ws_url,
        ORACLE_ADMIN_USER="operator",
        ORACLE_ADMIN_PASSWORD="a-long-test-password",
    )
    try:
        await asyncio.to_thread(stack.run, "migrate", "--noinput")
        await asyncio.to_thread(stack.run, "ensure_admin")
        web = await asyncio.to_thread(stack.daphne)
        stack.worker()
        await simulator.wait_for_tracking(timeout=60)
        await asyncio.to_thread(log_in, browser, web.url)

        first = whale(btc=1_111)
        await simulator.push(added=[first])
        row = await asyncio.to_thread(wait_for, browser, row_for(first["txid"]))
        assert "1,111" in row.text and "pending" in row.text

        await simulator.push(mined=[first["txid"]])
        await asyncio.to_thread(
            wait_for,
            browser,
            expected_conditions.text_to_be_present_in_element(
                (By.CSS_SELECTOR, f'tr[data-txid="{first["txid"]}"] td.status'), "confirmed"
            ),
        )

        await asyncio.to_thread(_apply_min_btc, browser, "2000")
        small, big = whale(btc=500), whale(btc=2_500)
        await simulator.push(added=[small, big])
        await asyncio.to_thread(wait_for, browser, row_for(big["txid"]))
        assert not browser.find_elements(By.CSS_SELECTOR, f'tr[data-txid="{small["txid"]}"]')

        web.stop()  # the web process goes away; the page keeps retrying
        await asyncio.to_thread(wait_for, browser, lambda driver: not live(driver))
        during = whale(btc=3_000)
        await simulator.push(added=[during])
        await asyncio.sleep(0.5)  # stored by the worker while no web process runs
        await asyncio.to_thread(stack.daphne, port=web.port)
        await asyncio.to_thread(wait_for, browser, row_for(during["txid"]), 30)
        ids = [
            row.get_attribute("data-id")
            for row in browser.find_elements(By.CSS_SELECTOR, "#alerts tbody tr")
        ]
        assert len(ids) == len(set(ids)) == 2
    finally:
        stack.stop()


def _apply_min_btc(driver, value: str) -> None:
    field = driver.find_element(By.ID, "min-btc")
    field.clear()
    field.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "#filters button").click()
    wait_for(driver, lambda d: filters_in_force(d).get("min_btc") == float(value))


def filters_in_force(driver) -> dict:
    """The filters the server confirmed last (`subscribed`), as the page keeps them."""
    return json.loads(
        driver.find_element(By.ID, "live-status").get_attribute("data-filters") or "{}"
    )
