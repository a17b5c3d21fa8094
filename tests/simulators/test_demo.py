"""The demo's parts: ports, its data directory, the simulators' settings, its process groups.

The whole demo as a program (start, URLs, Ctrl-C) is tested in tests/e2e/test_demo.py.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from simulators import demo
from simulators.chain import SimulatedChain
from simulators.demo import Children, DemoError, Options
from tests.support import StubServer, free_port, json_response, text_response

TODAY = date(2026, 3, 1)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def children(tmp_path: Path):
    group = Children(dict(os.environ), tmp_path)
    yield group
    group.stop(grace=1)


def test_busy_ports_are_named_by_their_option() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        free = free_port()
        ports = {"--port": free, "--mempool-port": busy}
        assert demo.busy_ports("127.0.0.1", ports) == [f"--mempool-port {busy}"]
    with pytest.raises(DemoError, match=r"cannot use 192\.0\.2\.1:"):
        demo.busy_ports("192.0.2.1", {"--port": free})  # an address this host does not have


def test_a_busy_port_stops_the_demo_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        options = Options(
            port=listener.getsockname()[1],
            chain_port=free_port(),
            mempool_port=free_port(),
            data_dir=tmp_path / "demo",
        )
        out = io.StringIO()
        handler_before = signal.getsignal(signal.SIGINT)
        assert demo.run(options, out) == 1
    assert out.getvalue() == (
        f"oracle demo: port(s) in use: --port {options.port}; stop what listens there or"
        " choose another port\n"
    )
    assert not (tmp_path / "demo").exists()
    assert signal.getsignal(signal.SIGINT) is handler_before


def test_the_data_directory_is_reused_for_the_same_chain_only(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    chain = {"start_date": "2026-02-01", "days": "30"}
    assert demo.prepare_data_dir(data, chain) is False
    assert json.loads((data / demo.MARKER).read_text()) == chain and (data / "logs").is_dir()
    (data / "oracle.sqlite3").write_text("earlier run")
    assert demo.prepare_data_dir(data, chain) is True
    assert (data / "oracle.sqlite3").exists()
    assert demo.prepare_data_dir(data, {**chain, "start_date": "2026-02-02"}) is False
    assert not (data / "oracle.sqlite3").exists()


def test_a_directory_that_is_not_a_demo_is_never_touched(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DemoError, match="holds something other than a demo"):
        demo.prepare_data_dir(tmp_path, {"days": "30"})
    assert (tmp_path / "notes.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert demo.prepare_data_dir(empty, {"days": "30"}) is False


def test_the_chain_ends_yesterday_and_covers_the_dashboard() -> None:
    chain = SimulatedChain(Options(today=TODAY).chain)
    assert chain.days[-1] == date(2026, 2, 28) and len(chain.days) == demo.CHAIN_DAYS
    assert len(SimulatedChain(Options(today=TODAY, days=120).chain).days) == 121  # and yesterday


def test_exchange_prices_stay_near_the_planted_ones() -> None:
    chain = SimulatedChain(Options(today=TODAY).chain)
    prices = demo.exchange_prices(chain, seed=1)
    assert list(prices) == [day.isoformat() for day in chain.days]
    spreads = [prices[d.isoformat()] / chain.day_price(d) - 1 for d in chain.days]
    assert all(abs(spread) < 0.02 for spread in spreads)
    assert any(spread != 0 for spread in spreads)
    assert demo.exchange_prices(chain, seed=1) == prices


def test_the_service_is_pointed_at_the_simulators_and_nothing_else(tmp_path: Path) -> None:
    options = Options(chain_port=1111, mempool_port=2222, data_dir=tmp_path, host="0.0.0.0")
    env = demo.service_env(
        options,
        {"PATH": "/bin", "DATABASE_URL": "postgres://x@db/y", "REDIS_URL": "redis://r/0"},
    )
    assert "DATABASE_URL" not in env and "REDIS_URL" not in env and env["PATH"] == "/bin"
    assert env["ELECTRS_URL"] == env["BITCOIN_RPC_URL"] == "http://127.0.0.1:1111"
    assert env["BITCOIN_RPC_COOKIE_FILE"] == str(tmp_path / "bitcoind.cookie")
    assert env["MEMPOOL_URL"] == "http://127.0.0.1:2222"
    assert env["MEMPOOL_WS_URL"] == "ws://127.0.0.1:2222/api/v1/ws"
    assert env["ORACLE_DATA_DIR"] == str(tmp_path)
    assert env["DJANGO_SETTINGS_MODULE"] == "oracle.settings"
    assert env["DJANGO_ALLOWED_HOSTS"].endswith(",0.0.0.0")
    assert env["ORACLE_ENV_FILE"] == os.devnull  # a .env in the checkout is not read


def test_the_simulators_command_lines_match_the_chain(tmp_path: Path) -> None:
    options = Options(today=TODAY, data_dir=tmp_path, chain_port=1111, whale_every=7)
    chain = SimulatedChain(options.chain)
    args = demo.chain_args(options)
    assert args[args.index("--start-date") + 1] == chain.days[0].isoformat()
    assert args[args.index("--days") + 1] == str(demo.CHAIN_DAYS)
    assert args[args.index("--port") + 1] == "1111"
    assert args[args.index("--mine-every") + 1] == str(demo.MINE_EVERY_SECONDS)
    assert args[args.index("--start-behind") + 1] == str(demo.BEHIND_BLOCKS)
    mempool = demo.mempool_args(options, chain, tmp_path / "prices.json")
    assert mempool[mempool.index("--whale-every") + 1] == "7"
    assert float(mempool[mempool.index("--price") + 1]) == pytest.approx(
        chain.price_at(chain.tip), abs=0.01
    )
    assert "--seed" not in mempool


def test_command_line(tmp_path: Path) -> None:
    options = demo.parse_args(["--port", "9000", "--data-dir", str(tmp_path), "--days", "7"])
    assert (options.port, options.data_dir, options.days) == (9000, tmp_path, 7)
    assert demo.parse_args([]).data_dir == demo.ROOT / "data" / "demo"
    with pytest.raises(SystemExit):
        demo.parse_args(["--days", "0"])


def test_the_summary_lists_every_page_and_the_login() -> None:
    text = demo.summary(
        Options(port=8123), "pass-word", "wat_token", "healthy", 41.6, date(2026, 2, 27)
    )
    assert text.startswith("oracle demo ready in 42 s:")
    for expected in (
        "http://127.0.0.1:8123/admin/dashboard/",
        "user admin, password pass-word",
        "/admin/health/checksample/service-history/",
        "http://127.0.0.1:8123/health  (healthy)",
        "ws://127.0.0.1:8123/ws/alerts/?token=wat_token",
        "price cloud     http://127.0.0.1:8123/admin/prices/priceseries/2026-02-27/",
        "today so far    http://127.0.0.1:8123/api/prices/today",
    ):
        assert expected in text
    assert Options(host="0.0.0.0", port=8123).base_url == "http://127.0.0.1:8123"
    assert Options(host="192.0.2.7", port=8123).base_url == "http://192.0.2.7:8123"


def test_the_demo_waits_until_health_says_healthy() -> None:
    answers = iter([{"status": "degraded"}, {"status": "healthy"}])
    stub = StubServer(lambda hit: json_response(_report(**next(answers)))).start()
    try:
        assert demo.wait_until_healthy(stub.url, timeout=10) == "healthy"
        assert [hit.path for hit in stub.hits] == ["/health", "/health"]
    finally:
        stub.stop()


def test_the_demo_says_what_health_said_last() -> None:
    feed = {"status": "error", "error": "no message from the mempool backend yet"}
    degraded = _report("degraded", mempool_feed=feed)
    stub = StubServer(lambda hit: json_response(degraded)).start()
    try:
        assert demo.wait_until_healthy(stub.url, timeout=0.2) == (
            "degraded (mempool_feed: no message from the mempool backend yet)"
        )
    finally:
        stub.stop()
    garbage = StubServer(lambda hit: text_response("<html>")).start()
    try:
        assert demo.wait_until_healthy(garbage.url, timeout=0) == "no answer (JSONDecodeError)"
    finally:
        garbage.stop()
    nobody = f"http://127.0.0.1:{free_port()}"
    assert demo.wait_until_healthy(nobody, timeout=0) == "no answer (ConnectionError)"


def _report(status: str, **checks: dict) -> dict:
    ok = {"status": "ok", "error": None}
    return {"status": status, "checks": {"database": ok, **checks}}


def test_a_failing_command_reports_its_output(children: Children) -> None:
    code = "import sys; print('something broke'); sys.exit(3)"
    with pytest.raises(DemoError, match=r"(?s)broken failed \(exit status 3\):\nsomething broke"):
        children.run("broken", ["-c", code])
    assert children.running == [] and children.started == 1
    assert children.run("fine", ["-c", "print('ok')"]) == "ok\n"


def test_stop_ends_whole_groups_even_when_they_ignore_sigterm(children: Children) -> None:
    stubborn = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "grandchild = subprocess.Popen([sys.executable, '-c',"
        " 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])\n"
        "print(grandchild.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    child = children.start("stubborn", ["-c", stubborn])
    polite = children.start("polite", ["-c", "import time; time.sleep(60)"])
    log = children.log_path("stubborn")
    deadline = time.monotonic() + 15
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(log.read_text())
    assert os.getpgid(child.process.pid) == child.process.pid != os.getpgid(0)
    started = time.monotonic()
    children.stop(grace=0.5)
    assert time.monotonic() - started >= 0.5  # the grace, then SIGKILL
    assert children.running == []
    assert child.process.returncode == -signal.SIGKILL
    assert polite.process.returncode == -signal.SIGTERM
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)


def test_waiting_for_a_port_notices_a_dead_child_and_gives_up_in_time(children: Children) -> None:
    dead = children.start("dead", ["-c", "import sys; print('no luck'); sys.exit(1)"])
    with pytest.raises(DemoError, match=r"(?s)dead exited before listening on port \d+:\nno luck"):
        demo.wait_for_port(free_port(), dead, children, timeout=10)
    sleeper = children.start("sleeper", ["-c", "import time; time.sleep(60)"])
    with pytest.raises(DemoError, match=r"sleeper did not listen on port \d+ within 0.3 s"):
        demo.wait_for_port(free_port(), sleeper, children, timeout=0.3)


def test_waiting_for_a_port_returns_once_it_listens(children: Children) -> None:
    port = free_port()
    code = f"import socket, time\ns = socket.create_server(('127.0.0.1', {port}))\ntime.sleep(60)\n"
    server = children.start("server", ["-c", code])
    demo.wait_for_port(port, server, children, timeout=20)
    assert not server.exited()
    assert sys.executable in server.process.args
