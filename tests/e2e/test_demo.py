"""`python -m simulators.demo` as a program: it comes up with a backfilled series, live whales and a
login; its chain completes yesterday (stored by the worker) and today's provisional price follows
the new blocks; the dashboard shows a price and today's card, the day page its price cloud and the
alerts page a whale in headless Chromium (the pages are saved for the README's docs/screenshots/
with UPDATE_SCREENSHOTS=1); Ctrl-C, SIGTERM or a dying child stop every process.

The tests share one data directory: the first start backfills, the others reuse it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.browser import needs_chromium, open_page, wait_for
from tests.support import PYTHON, ROOT, free_port

# The README's screenshots are refreshed with UPDATE_SCREENSHOTS=1; otherwise they go to a temp dir.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "oracle-screenshots"
)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]


def proc_stat(pid: str) -> tuple[int, str, int] | None:
    """(parent pid, state, process group) of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(fields[1]), fields[0], int(fields[2])


def live_processes() -> dict[int, tuple[int, int]]:
    """Every process that is not a zombie: pid -> (parent pid, process group)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := proc_stat(entry)) is not None and stat[1] != "Z":
            found[int(entry)] = (stat[0], stat[2])
    return found


class Demo:
    """The demo running as a subprocess, its output collected line by line."""

    def __init__(self, data_dir: Path, whale_every: float = 3.0) -> None:
        self.port = free_port()
        self.notifications = data_dir / "logs" / "notifications.jsonl"
        self.process = subprocess.Popen(
            [
                PYTHON, "-m", "simulators.demo",
                "--data-dir", str(data_dir),
                "--port", str(self.port),
                "--chain-port", str(free_port()),
                "--mempool-port", str(free_port()),
                "--inbox-port", str(free_port()),
                "--whale-every", str(whale_every),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float) -> float:
        """Wait for the summary; the start-up time it states."""
        deadline = time.monotonic() + timeout
        while "Ctrl-C stops every process of the demo." not in self.lines:
            assert self.process.poll() is None, f"the demo exited:\n{self.output}"
            assert time.monotonic() < deadline, f"not ready within {timeout} s:\n{self.output}"
            time.sleep(0.1)
        return float(re.search(r"oracle demo ready in (\d+) s:", self.output).group(1))

    def summary(self, label: str) -> str:
        return re.search(rf"^  {label} +(.+)$", self.output, re.M).group(1)

    @property
    def password(self) -> str:
        return re.search(r"password ([^)]+)\)", self.summary("admin")).group(1)

    @property
    def token(self) -> str:
        return self.summary("alert socket").split("token=")[1]

    def children(self) -> dict[int, int]:
        """Every live descendant: pid -> process group."""
        processes = live_processes()
        found, frontier = {}, [self.process.pid]
        while frontier:
            parent = frontier.pop()
            for pid, (ppid, group) in processes.items():
                if ppid == parent:
                    found[pid] = group
                    frontier.append(pid)
        return found

    def stop(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(60)
        self._reader.join(10)
        return code

    def kill(self) -> None:
        """Stop the demo and every process it started, whatever state a test left it in."""
        if self.process.poll() is not None:
            return
        groups = set(self.children().values())
        self.process.terminate()  # the demo stops its children itself
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for group in groups:  # and whatever of theirs is left
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)


def assert_all_gone(children: dict[int, int]) -> None:
    """None of the processes, nor anything else in their process groups, is left."""
    groups = set(children.values())
    deadline = time.monotonic() + 10
    while True:
        left = {
            pid: group
            for pid, (_, group) in live_processes().items()
            if pid in children or group in groups
        }
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == {}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "data"


@pytest.fixture
def demo(data_dir: Path):
    running = Demo(data_dir)
    yield running
    running.kill()


def get_json(demo: Demo, path: str) -> tuple[int, dict]:
    answer = requests.get(f"{demo.url}{path}", timeout=10)
    return answer.status_code, answer.json()


def wait_for_yesterday(demo: Demo, timeout: float = 600) -> dict:
    """The latest day once it is yesterday: the live chain completes it after the demo starts."""
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    deadline = time.monotonic() + timeout
    while True:
        status, latest = get_json(demo, "/api/prices/latest")
        if status == 200 and latest["timestamp"] == yesterday:
            return latest
        assert time.monotonic() < deadline, f"yesterday not stored within {timeout} s: {latest}"
        time.sleep(1)


def log_in(session: requests.Session, demo: Demo) -> None:
    login = f"{demo.url}/admin/login/"
    session.get(login, timeout=10)
    answer = session.post(
        login,
        data={
            "username": "admin",
            "password": demo.password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        timeout=10,
    )
    assert answer.url == f"{demo.url}/admin/", answer.text[:500]


def test_the_demo_comes_up_and_ctrl_c_stops_every_process(demo: Demo) -> None:
    demo.wait_ready(timeout=600)
    before_yesterday = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    assert re.search(rf"backfill_prices \S+\.\.{before_yesterday}: 30 days", demo.output)
    assert "0 failed" in demo.output

    latest = wait_for_yesterday(demo)
    assert latest["is_valid"] and abs(latest["diff_percent"]) < 3
    gaps = requests.get(f"{demo.url}/api/prices/gaps?days=30", timeout=10).json()
    assert gaps["gaps_detected"] == 0
    status, cloud = get_json(demo, f"/api/prices/{latest['timestamp']}/cloud")
    assert status == 200 and cloud["point_count"] > 1000
    assert_today_follows_the_chain(demo, latest)
    deadline = time.monotonic() + 60
    while (health := get_json(demo, "/health")[1])["status"] != "healthy":
        assert time.monotonic() < deadline, health
        time.sleep(1)
    statuses = {name: check["status"] for name, check in health["checks"].items()}
    assert set(statuses) >= {
        "database",
        "app_database",
        "electrs",
        "mempool_backend",
        "bitcoin_rpc",
    }
    assert set(statuses.values()) == {"ok"} and health["status"] == "healthy"
    whales = requests.get(
        f"{demo.url}/api/whales", headers={"Authorization": f"Bearer {demo.token}"}, timeout=10
    )
    assert whales.status_code == 200
    metrics = requests.get(
        f"{demo.url}/metrics", headers={"Authorization": f"Bearer {demo.token}"}, timeout=10
    )
    assert metrics.status_code == 200 and "oracle_price_usd" in metrics.text
    assert_notified(demo, f"BTC/USD {latest['timestamp']}: ")

    with requests.Session() as session:
        assert "/admin/login/" in session.get(f"{demo.url}/admin/dashboard/", timeout=10).url
        log_in(session, demo)
        dashboard = session.get(f"{demo.url}/admin/dashboard/", timeout=10).text
    assert f"{round(latest['utxoracle_price']):,} <small>USD</small>" in dashboard

    children = demo.children()
    commands = " ".join(Path(f"/proc/{pid}/cmdline").read_text() for pid in children)
    for part in (
        "simulators.chain",
        "simulators.mempool",
        "simulators.inbox",
        "daphne",
        "run_worker",
    ):
        assert part in commands
    assert len(set(children.values())) >= 4  # each in its own process group
    assert demo.stop(signal.SIGINT) == 0
    assert demo.lines[-2:] == ["SIGINT: stopping", "Every demo process has stopped."]
    assert_all_gone(children)


def assert_notified(demo: Demo, title_start: str, timeout: float = 120) -> None:
    """The demo's inbox received a notification whose title starts so (sent by the worker)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = demo.notifications.read_text().splitlines() if demo.notifications.exists() else []
        if any(json.loads(line)["title"].startswith(title_start) for line in lines):
            return
        assert time.monotonic() < deadline, f"no {title_start!r} notification: {lines}"
        time.sleep(1)


def assert_today_follows_the_chain(demo: Demo, yesterday: dict) -> None:
    """Today's provisional price starts after yesterday's last block and, while the chain is
    still catching up with the clock (a block a second), moves with it."""
    now = datetime.now(UTC)
    status, today = get_json(demo, "/api/prices/today")
    if status == 404:  # before about 02:00 UTC today has fewer blocks than it is shown from
        assert "block(s) of" in today["detail"] or "no block of" in today["detail"]
        return
    assert today["date"] == now.date().isoformat() and today["provisional"] is True
    assert today["block_first"] == yesterday["block_last"] + 1
    assert abs(today["price"] / yesterday["utxoracle_price"] - 1) < 0.1
    last = datetime.fromisoformat(today["last_block_time"])
    if now - last > timedelta(minutes=30):  # catching up: new blocks every second
        deadline = time.monotonic() + 60
        while get_json(demo, "/api/prices/today")[1]["block_count"] <= today["block_count"]:
            assert time.monotonic() < deadline, "today's price did not move"
            time.sleep(1)


def test_a_child_that_dies_stops_the_demo(demo: Demo) -> None:
    demo.wait_ready(timeout=360)
    children = demo.children()
    worker = next(
        pid for pid in children if b"run_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )
    os.kill(worker, signal.SIGKILL)
    assert demo.process.wait(60) == 1
    demo._reader.join(10)
    assert f"worker exited (status -{signal.SIGKILL.value})" in demo.output
    assert_all_gone(children)


@pytest.mark.browser
@needs_chromium
def test_the_dashboard_shows_a_price_and_the_alerts_page_a_whale(demo: Demo, browser) -> None:
    from selenium.webdriver.common.by import By

    demo.wait_ready(timeout=360)
    latest = wait_for_yesterday(demo)
    children = demo.children()
    if datetime.now(UTC).hour >= 3:  # today has had the time for the blocks it is shown from
        deadline = time.monotonic() + 240  # the chain catches up at a block a second
        while get_json(demo, "/api/prices/today")[0] != 200:
            assert time.monotonic() < deadline, "today's price was not shown"
            time.sleep(1)

    shown = get_json(demo, "/api/prices/today")[0] == 200  # once shown, it stays shown today
    browser.get(f"{demo.url}/admin/login/?next=/admin/dashboard/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(demo.password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    deadline = time.monotonic() + 60  # the health history has its first samples
    while "no sample" in browser.page_source:
        assert time.monotonic() < deadline, "no health sample within 60 s"
        time.sleep(2)
        browser.refresh()
    card = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".card .card-price"))[0]
    assert card.text == f"{round(latest['utxoracle_price']):,} USD"
    today = browser.find_element(By.ID, "today-card").text.upper()
    assert "PROVISIONAL" in today if shown else ("PROVISIONAL" in today or "FORMING" in today)
    status, provisional = get_json(demo, "/api/prices/today")
    last = datetime.fromisoformat(provisional["last_block_time"]) if status == 200 else None
    if shown and last is not None and datetime.now(UTC) - last > timedelta(minutes=30):
        # the chain is catching up: the card follows its blocks live (price_today messages)
        blocks = browser.find_element(By.CSS_SELECTOR, "#today-card .today-blocks").text
        wait_for(
            browser,
            lambda d: d.find_element(By.CSS_SELECTOR, "#today-card .today-blocks").text != blocks,
            60,
        )
    summary = browser.find_element(By.ID, "whales-24h")
    after, before = (
        int(summary.get_attribute("data-after")),
        int(summary.get_attribute("data-count")),
    )

    def new_on_dashboard(driver) -> bool:
        rows = driver.find_elements(By.CSS_SELECTOR, "#whales tbody tr")
        return len([r for r in rows if int(r.get_attribute("data-id")) > after]) >= 3

    def counted_live(driver) -> bool:  # read anew: the page may have reloaded itself meanwhile
        state = driver.find_element(By.ID, "whales-status").get_attribute("data-state")
        count = int(driver.find_element(By.CSS_SELECTOR, "#whales-24h .count").text)
        return state == "live" and count >= before + 3

    wait_for(browser, new_on_dashboard, 60)
    wait_for(browser, counted_live, 30)
    screenshot(browser, "dashboard", 1280)
    screenshot(browser, "dashboard-phone", 390)
    screenshot(browser, "dashboard-today", 1280, element="today-card")

    open_page(browser, f"{demo.url}/alerts/live")  # the dashboard may be reloading itself
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#alerts tbody tr"))
    replayed = max(int(r.get_attribute("data-id")) for r in whale_rows(browser))

    def new_whales(driver) -> list:
        return [r for r in whale_rows(driver) if int(r.get_attribute("data-id")) > replayed]

    row = wait_for(browser, new_whales, 60)[0]
    assert float(row.find_element(By.CSS_SELECTOR, "td.btc").text.replace(",", "")) >= 100
    assert row.find_element(By.CSS_SELECTOR, "td.status").text == "pending"
    screenshot(browser, "live-alerts", 1440, height=900)

    browser.get(f"{demo.url}/admin/prices/priceseries/")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.price-chart polyline.onchain")
    screenshot(browser, "price-series", 1280, height=1100)
    browser.get(f"{demo.url}/admin/prices/priceseries/{latest['timestamp']}/")
    canvas = wait_for(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#price-cloud[data-drawn]")
    )
    assert int(canvas[0].get_attribute("data-drawn")) > 1000
    screenshot(browser, "price-cloud", 1280, height=1400, element="price-cloud")
    browser.get(f"{demo.url}/admin/health/checksample/service-history/")
    assert "Service history" in browser.title
    screenshot(browser, "service-history", 1280, height=1100)

    assert demo.stop(signal.SIGTERM) == 0
    assert_all_gone(children)


def whale_rows(driver) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#alerts tbody tr")


def screenshot(
    driver, name: str, width: int, height: int | None = None, element: str | None = None
) -> None:
    """Save the page at `width` CSS pixels (a phone below 600), whole or `height` tall, or only
    the element of that id."""
    from selenium.webdriver.common.by import By

    metrics = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    if height is None:
        height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    time.sleep(0.3)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SCREENSHOTS / f"{name}.png")
    if element is None:
        assert driver.save_screenshot(path)
    else:
        assert driver.find_element(By.ID, element).screenshot(path)
