"""`doctor` against stand-ins of each node stack and of each misconfiguration, over real sockets."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from oracle.doctor import Finding, diagnose, report_text
from simulators.chain import ChainParams, SimulatedChain, SimulatorServer
from simulators.mempool import MempoolSimulator
from tests.support import free_port

pytestmark = pytest.mark.django_db(transaction=True)
CHAIN = ChainParams(txs_per_block=10)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[SimulatorServer]:
    server = SimulatorServer(SimulatedChain(CHAIN), cookie_file=tmp_path / ".cookie").start()
    yield server
    server.stop()


@pytest.fixture
def configured(settings, tmp_path: Path, node: SimulatorServer):
    """A Core-only stack: PRICE_SOURCE=auto, the node's cookie, nothing at ELECTRS_URL."""
    settings.ORACLE_DATA_DIR = tmp_path / "data"
    settings.ORACLE_DATA_DIR.mkdir(mode=0o700)
    settings.DUCKDB_PATH = tmp_path / "data" / "prices.duckdb"
    settings.PRICE_SOURCE = ("auto",)
    settings.BITCOIN_RPC_URL = node.url
    settings.BITCOIN_RPC_COOKIE_FILE = node.cookie_file
    settings.BITCOIN_RPC_CONFIGURED = True
    settings.ELECTRS_URL = f"http://127.0.0.1:{free_port()}"
    settings.ELECTRS_CONFIGURED = False
    settings.MEMPOOL_URL = f"http://127.0.0.1:{free_port()}"
    settings.MEMPOOL_WS_URL = f"ws://127.0.0.1:{free_port()}/api/v1/ws"
    settings.REDIS_URL = None
    return settings


async def doctor(*args: str) -> tuple[int, str]:
    """Run the command in a thread (the simulators answer on this test's event loop)."""
    out = io.StringIO()

    def run() -> int:
        try:
            call_command("doctor", *args, stdout=out)
        except SystemExit as exit_status:
            return int(exit_status.code)
        return 0

    return await asyncio.to_thread(run), out.getvalue()


def finding(findings: list[dict], part: str) -> list[dict]:
    return [f for f in findings if f["part"] == part]


@pytest.fixture
async def backend() -> MempoolSimulator:
    simulator = await MempoolSimulator(price_usd=None, history=False).start()
    yield simulator
    await simulator.stop()


async def test_a_core_only_stack_works_and_says_what_it_lacks(configured, backend) -> None:
    configured.MEMPOOL_URL, configured.MEMPOOL_WS_URL = backend.url, backend.ws_url
    code, out = await doctor("--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    findings = report["findings"]
    [core, rest] = finding(findings, "Bitcoin Core")
    assert (core["status"], core["detail"]) == (
        "ok",
        f"mainnet, block {SimulatedChain(CHAIN).tip:,}",
    )
    assert rest["status"] == "warning" and "rest=1" in rest["fix"]
    [source] = finding(findings, "price source")
    assert source == {**source, "status": "ok", "detail": "auto: prices come from bitcoind"}
    assert not finding(findings, "electrs (Esplora)")  # not in use on this stack
    backend_findings = finding(findings, "mempool backend")
    assert backend_findings[0]["detail"] == "version 3.4-dev, backend none"
    details = " | ".join(f["detail"] for f in backend_findings)
    assert "no exchange price (USD: -1)" in details and "no price history" in details
    assert finding(findings, "mempool WebSocket")[0]["status"] == "ok"


@pytest.fixture
def garbage_server() -> Iterator[int]:
    """A TCP server that answers anything with a line that is not HTTP (an Electrum server
    answers a JSON-RPC error, or nothing)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(1024)
                connection.sendall(b'{"jsonrpc": "2.0", "error": {"code": -32700}}\n')

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


async def test_an_electrum_server_at_electrs_url_is_named(configured, garbage_server) -> None:
    configured.PRICE_SOURCE = ("esplora",)
    configured.ELECTRS_CONFIGURED = True
    configured.ELECTRS_URL = f"http://127.0.0.1:{garbage_server}"
    code, out = await doctor()
    assert code == 1
    assert "does not speak HTTP: an Electrum server" in out
    assert "fix: set PRICE_SOURCE=bitcoind" in out
    assert out.rstrip().endswith("critical problems: electrs (Esplora), price source")


async def test_a_testnet_node_is_refused(configured, tmp_path: Path) -> None:
    testnet = SimulatorServer(
        SimulatedChain(CHAIN), cookie_file=tmp_path / "t.cookie", network="test"
    ).start()
    try:
        configured.PRICE_SOURCE = ("bitcoind",)
        configured.BITCOIN_RPC_URL = testnet.url
        configured.BITCOIN_RPC_COOKIE_FILE = testnet.cookie_file
        code, out = await doctor("--json")
    finally:
        testnet.stop()
    findings = json.loads(out)["findings"]
    [core] = finding(findings, "Bitcoin Core")
    assert code == 1
    assert (core["status"], core["detail"]) == ("failure", "the node is on testnet3")
    assert "mainnet" in core["fix"] and core["critical"] is True


async def test_an_unreadable_cookie_and_an_old_esplora_backend(configured, tmp_path) -> None:
    configured.BITCOIN_RPC_COOKIE_FILE = tmp_path / "no-such-cookie"
    old = await MempoolSimulator(version="2.5.0", backend="esplora").start()
    try:
        configured.MEMPOOL_URL = old.url
        code, out = await doctor("--json")
    finally:
        await old.stop()
    findings = json.loads(out)["findings"]
    [core] = finding(findings, "Bitcoin Core")
    assert (
        "cannot read the RPC cookie file" in core["detail"]
        and "BITCOIN_RPC_COOKIE_FILE" in core["fix"]
    )
    details = {f["detail"]: f for f in finding(findings, "mempool backend")}
    assert details["version 2.5.0: too old for whale alerts"]["status"] == "failure"
    assert any("BACKEND=esplora" in detail for detail in details)
    assert code == 1  # no block source can price a day


async def test_a_world_readable_data_folder_is_a_warning(configured) -> None:
    configured.ORACLE_DATA_DIR.chmod(0o755)
    code, out = await doctor()
    assert code == 0  # a warning, not a critical problem
    assert "readable by other users (mode 755)" in out
    assert f"fix: chmod 700 {configured.ORACLE_DATA_DIR}" in out


def test_a_probe_that_crashes_is_a_finding_not_a_crash() -> None:
    def broken() -> list[Finding]:
        raise RuntimeError("boom")

    [found] = diagnose((broken,))
    assert (found.part, found.status) == ("broken", "failure")
    assert "RuntimeError: boom" in found.detail
    assert report_text([found]).splitlines()[-1] == "every critical part works"


async def test_notification_urls_apprise_cannot_use_are_named_without_their_secrets(
    configured,
) -> None:
    configured.NOTIFY_URLS = ("json://127.0.0.1:9/hook", "nosuchservice://user:hunter2@host")
    code, out = await doctor("--json")
    [found] = finding(json.loads(out)["findings"], "notifications")
    assert code == 0  # notifications are not critical
    assert found["status"] == "warning"
    assert "URL #2 (nosuchservice)" in found["detail"] and "#1" not in found["detail"]
    assert "hunter2" not in out
    configured.NOTIFY_URLS = ("json://127.0.0.1:9/hook",)
    code, out = await doctor("--json")
    [found] = finding(json.loads(out)["findings"], "notifications")
    assert found["status"] == "ok"
    configured.NOTIFY_URLS = ()
    code, out = await doctor("--json")
    assert finding(json.loads(out)["findings"], "notifications") == []
