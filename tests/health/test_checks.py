"""The check registry and each built-in check against real local services."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from core.logging import correlation_scope
from health.base import (
    Check,
    CheckError,
    CheckTimeout,
    register,
    registered_checks,
    run_checks,
    safe_message,
    unregister,
)
from tests.health.conftest import CHECK_TIMEOUT
from tests.health.price_store import publish_garbage, write_lock_held, write_store
from tests.health.upstreams import RPC_PASSWORD, RPC_USER, Upstreams
from tests.support import free_port

# A hung stub answers after 30 s: finishing well before that proves the timeout cut it short.
HANG_BOUND = 10.0
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def builtin(name: str) -> Check:
    return next(check for check in registered_checks() if check.name == name)


def refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.django_db
async def test_every_builtin_check_passes_against_healthy_services(stack: Upstreams) -> None:
    with correlation_scope("health-test-1"):
        results = await run_checks(registered_checks())
    assert list(results) == [  # the health app's own checks, then those of the prices app
        "app_database",
        "electrs",
        "mempool_backend",
        "bitcoin_rpc",
        "database",
    ]
    for result in results.values():
        assert result.status == "ok" and result.error is None
        assert result.latency_ms >= 0
        assert result.last_success == result.checked_at
    rpc_call = stack.servers["rpc"].hits[0]
    assert json.loads(rpc_call.body)["method"] == "getblockchaininfo"
    credentials = base64.b64encode(f"{RPC_USER}:{RPC_PASSWORD}".encode()).decode()
    assert rpc_call.headers["Authorization"] == f"Basic {credentials}"
    assert stack.servers["electrs"].hits[0].headers["X-Correlation-ID"] == "health-test-1"


async def test_a_hung_service_times_out_within_the_budget(stack: Upstreams) -> None:
    stack.modes["electrs"] = "hang"
    started = time.monotonic()
    result = await builtin("electrs").run()
    elapsed = time.monotonic() - started
    assert elapsed < HANG_BOUND, f"took {elapsed:.3f} s"
    assert result.status == "timeout"
    assert result.latency_ms >= CHECK_TIMEOUT * 1000
    assert result.error == f"no answer within {CHECK_TIMEOUT:g} s"
    assert result.last_success is None


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("500", "electrs: /blocks/tip/height: HTTP 500"),
        ("garbage", "electrs: /blocks/tip/height: not a block height: '<html>surprise</html>'"),
        ("testnet", "electrs: serves testnet3, not mainnet (prices need mainnet blocks)"),
    ],
)
async def test_electrs_failures_are_explained(stack: Upstreams, mode: str, error: str) -> None:
    stack.modes["electrs"] = mode
    result = await builtin("electrs").run()
    assert result.status == "error"
    assert result.error.startswith(error)


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("500", "mempool_backend: /api/v1/prices: HTTP 500"),
        ("garbage", "mempool_backend: /api/v1/prices: the answer is not JSON"),
        ("no_usd", "mempool_backend: /api/v1/prices: no exchange price (USD: -1): the backend's"),
        ("no_price", "mempool_backend: /api/v1/prices: no exchange price (USD: -1): the backend's"),
    ],
)
async def test_mempool_failures_are_explained(stack: Upstreams, mode: str, error: str) -> None:
    stack.modes["mempool"] = mode
    result = await builtin("mempool_backend").run()
    assert result.status == "error" and result.error.startswith(error)


async def test_upstream_bodies_are_read_with_a_cap(stack: Upstreams) -> None:
    stack.servers["mempool"].handler = lambda hit: (200, {}, b" " * 2_000_000)
    result = await builtin("mempool_backend").run()
    assert result.error == (
        "mempool_backend: /api/v1/prices: response body of 2000000 bytes exceeds the "
        "1000000-byte limit"
    )


async def test_a_refused_connection_is_an_error_naming_the_path(stack, settings) -> None:
    settings.MEMPOOL_URL = refused_url()
    result = await builtin("mempool_backend").run()
    assert result.status == "error"
    assert result.error == (
        "mempool_backend: /api/v1/prices: connection failed "
        "(ConnectionRefusedError: Connection refused)"
    )


async def test_credentials_in_urls_never_reach_the_error(stack, settings) -> None:
    port = free_port()
    settings.ELECTRS_URL = f"http://watcher:hunter2-secret@127.0.0.1:{port}"
    result = await builtin("electrs").run()
    assert result.status == "error"
    assert "hunter2" not in result.error and "watcher" not in result.error


def test_safe_message_strips_userinfo_and_configured_secrets(settings) -> None:
    settings.BITCOIN_RPC_PASSWORD = "rpc-pass-77"
    settings.REDIS_URL = "redis://:redis-pass-88@127.0.0.1:6379/0"
    text = (
        "failed: redis://:redis-pass-88@127.0.0.1:6379/0 and https://u:p@host/x "
        "with rpc-pass-77 and redis-pass-88"
    )
    cleaned = safe_message(text)
    assert cleaned == ("failed: redis://127.0.0.1:6379/0 and https://host/x with *** and ***")
    assert len(safe_message("x" * 1000)) == 300
    settings.BITCOIN_RPC_PASSWORD = "p"  # too short to search for: the text stays readable
    assert safe_message("mempool_backend: /api/v1/prices") == "mempool_backend: /api/v1/prices"


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("loading", "bitcoin_rpc: getblockchaininfo: RPC error -28: Loading block index..."),
        ("401", "bitcoin_rpc: RPC authentication failed (HTTP 401): check the cookie or password"),
        ("garbage", "bitcoin_rpc: RPC answer is not JSON"),
        ("testnet", "bitcoin_rpc: serves testnet3, not mainnet (prices need mainnet blocks)"),
        ("syncing", "bitcoin_rpc: still in initial block download (block 871,234 of 876,234)"),
    ],
)
async def test_bitcoin_rpc_failures_are_explained(stack: Upstreams, mode: str, error: str) -> None:
    stack.modes["rpc"] = mode
    result = await builtin("bitcoin_rpc").run()
    assert (result.status, result.error) == ("error", error)
    assert RPC_PASSWORD not in json.dumps(result.error)


async def test_bitcoin_rpc_prefers_the_cookie_file(stack, settings, tmp_path: Path) -> None:
    cookie = tmp_path / ".cookie"
    cookie.write_text("__cookie__:0a1b2c3d4e5f\n")
    settings.BITCOIN_RPC_COOKIE_FILE = cookie
    assert (await builtin("bitcoin_rpc").run()).ok
    sent = stack.servers["rpc"].hits[-1].headers["Authorization"]
    assert base64.b64decode(sent.split()[1]) == b"__cookie__:0a1b2c3d4e5f"
    settings.BITCOIN_RPC_COOKIE_FILE = tmp_path / "missing-cookie"
    result = await builtin("bitcoin_rpc").run()
    assert result.error == (
        f"bitcoin_rpc: cannot read the RPC cookie file {tmp_path / 'missing-cookie'}"
        " (No such file or directory)"
    )


async def test_bitcoin_rpc_without_credentials_reads_the_data_directory(
    stack, settings, tmp_path: Path
) -> None:
    settings.BITCOIN_RPC_USER = settings.BITCOIN_RPC_PASSWORD = None
    settings.BITCOIN_DATADIR = tmp_path
    (tmp_path / ".cookie").write_text("__cookie__:feed")
    stack.servers["rpc"].handler = lambda hit: (
        200,
        {},
        b'{"result": {"blocks": 1}, "error": null}',
    )
    result = await builtin("bitcoin_rpc").run()
    assert result.error == "bitcoin_rpc: getblockchaininfo: no chain in the answer"
    sent = stack.servers["rpc"].hits[-1].headers["Authorization"]
    assert base64.b64decode(sent.split()[1]) == b"__cookie__:feed"


def test_optional_checks_follow_the_configuration(settings) -> None:
    settings.REDIS_URL, settings.BITCOIN_RPC_CONFIGURED = None, False
    settings.ELECTRS_CONFIGURED = True
    assert [c.name for c in registered_checks()] == [
        "app_database",
        "electrs",
        "mempool_backend",
        "database",
        "price_freshness",
        "mempool_feed",
    ]
    settings.REDIS_URL, settings.BITCOIN_RPC_CONFIGURED = REDIS_URL, True
    assert "channel_layer" in [c.name for c in registered_checks()]
    settings.ELECTRS_CONFIGURED = False  # neither ELECTRS_URL set nor esplora a price source
    assert "electrs" not in [c.name for c in registered_checks()]
    assert [c.name for c in registered_checks(critical_only=True)] == ["app_database", "database"]


def test_the_operator_can_turn_checks_off(settings) -> None:
    settings.REDIS_URL, settings.BITCOIN_RPC_CONFIGURED = None, False
    settings.ELECTRS_CONFIGURED = True
    settings.HEALTH_DISABLED_CHECKS = ("electrs", "mempool_feed")
    assert [c.name for c in registered_checks()] == [
        "app_database",
        "mempool_backend",
        "database",
        "price_freshness",
    ]


@pytest.mark.channel_layer
@pytest.mark.skipif(not redis_answers(), reason="no Redis on 127.0.0.1:6379")
async def test_the_channel_layer_check_pings_redis(settings) -> None:
    settings.REDIS_URL = REDIS_URL
    assert (await builtin("channel_layer").run()).ok


async def test_an_unreachable_redis_is_an_error_without_its_password(settings) -> None:
    settings.REDIS_URL = f"redis://:redis-pass-99@127.0.0.1:{free_port()}/0"
    result = await builtin("channel_layer").run()
    assert result.status == "error"
    assert result.error.startswith("channel_layer: ConnectionError:")
    assert "redis-pass-99" not in result.error


async def test_a_silent_redis_times_out(settings) -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        settings.REDIS_URL = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        settings.HEALTH_CHECK_TIMEOUT = 0.3
        result = await builtin("channel_layer").run()
    assert result.status == "timeout"


async def test_the_price_store_check(settings, tmp_path: Path) -> None:
    settings.DUCKDB_PATH = store = tmp_path / "prices.duckdb"
    nothing = await builtin("database").run()
    assert (nothing.status, nothing.error) == (
        "error",
        "price store: no price store has been published yet",
    )
    write_store(store)
    assert (await builtin("database").run()).ok
    publish_garbage(store)
    result = await builtin("database").run()
    assert result.status == "error"
    assert result.error.startswith("price store: IOException: IO Error: The file")


async def test_a_writer_holding_the_store_does_not_disturb_the_check(settings, tmp_path) -> None:
    settings.DUCKDB_PATH = write_store(tmp_path / "prices.duckdb")
    with write_lock_held(settings.DUCKDB_PATH):
        result = await builtin("database").run()
    assert result.ok


@pytest.mark.django_db
async def test_the_app_database_check() -> None:
    assert (await builtin("app_database").run()).ok


class Scripted(Check):
    """A registered test check whose probe does what the test says."""

    def __init__(self, name: str, action, *, critical: bool = False, timeout=None) -> None:
        self.name, self.action, self.critical, self.timeout = name, action, critical, timeout
        self.calls = 0

    def probe(self) -> None:
        self.calls += 1
        self.action()


class AsyncScripted(Check):
    name = "async_scripted"

    async def probe(self) -> None:
        await asyncio.sleep(0)
        raise CheckTimeout("the feed is silent")


@pytest.fixture
def registered():
    added: list[str] = []

    def add(check: Check) -> Check:
        added.append(check.name)
        return register(check)

    yield add
    for name in added:
        unregister(name)


def test_the_registry_refuses_nameless_and_duplicate_checks(registered) -> None:
    with pytest.raises(ValueError, match="needs a name"):
        register(Check())
    with pytest.raises(ValueError, match="'electrs' is registered already"):
        register(Scripted("electrs", lambda: None))
    registered(Scripted("extra", lambda: None, critical=True))
    assert registered_checks()[-1].name == "extra"
    assert "extra" in [c.name for c in registered_checks(critical_only=True)]
    unregister("extra")
    assert "extra" not in [c.name for c in registered_checks()]


async def test_registered_checks_can_be_sync_or_async_and_fail_safely(
    registered, json_logs
) -> None:
    def crash() -> None:
        raise ValueError("bad arithmetic")

    def refuse() -> None:
        raise CheckError("feed stale for 300 s")

    checks = [
        registered(Scripted("crashing", crash)),
        registered(Scripted("refusing", refuse)),
        registered(AsyncScripted()),
    ]
    results = await run_checks(checks)
    assert (results["crashing"].status, results["crashing"].error) == (
        "error",
        "ValueError: bad arithmetic",
    )
    assert (results["refusing"].status, results["refusing"].error) == (
        "error",
        "feed stale for 300 s",
    )
    assert (results["async_scripted"].status, results["async_scripted"].error) == (
        "timeout",
        "the feed is silent",
    )
    crash_line = json_logs.events("health_check_crashed")[0]
    assert crash_line["check"] == "crashing" and "ValueError" in crash_line["exception"]


async def test_a_stuck_probe_thread_is_waited_for_not_duplicated(registered) -> None:
    release = threading.Event()
    check = registered(Scripted("stuck", lambda: release.wait(5), timeout=0.2))
    first = await check.run()
    second = await check.run()
    assert (first.status, second.status) == ("timeout", "timeout")
    assert check.calls == 1
    release.set()
    assert (await check.run()).ok
    assert check.calls == 2
