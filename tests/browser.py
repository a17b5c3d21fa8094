"""Headless Chromium for the browser tests: Debian's chromium driven through chromium-driver."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

needs_chromium = pytest.mark.skipif(
    not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver",
)


def chrome() -> Any:
    """A new headless Chromium session (the caller quits it)."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # for csp_violations()
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    return driver


def csp_violations(driver: Any) -> list[str]:
    """The Content-Security-Policy violations the console reported since the last call."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]


def wait_for(driver: Any, condition: Callable[[Any], Any], timeout: float = 60.0) -> Any:
    """Poll `condition(driver)` every 0.1 s until it is truthy; its value. A condition that
    meets an element gone with a reload of its page is polled again."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.wait import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored).until(
        condition
    )


def open_page(driver: Any, url: str, attempts: int = 5) -> None:
    """Load `url` and make sure it is the page shown. A page that reloads itself (the dashboard
    does when today's price shows for the first time) can supersede a navigation away from it
    that has not committed yet; the page is then loaded again."""
    for _ in range(attempts):
        driver.get(url)
        if driver.current_url == url:
            return
    raise AssertionError(f"{url} was not kept: the browser shows {driver.current_url}")
