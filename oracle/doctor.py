"""`doctor`: probe every configured upstream and the local setup, and say for each what works and
the exact fix for what does not.

Each probe is a function returning `Finding`s; they run concurrently with short timeouts, so the
whole diagnosis takes about one timeout even when every upstream hangs. A finding is `ok`, a
`warning` (the service runs, something is missing or degraded) or a `failure`; a failure of a
critical part (the data folder, the Django database, Redis when set, a block source that can
price a day) makes the command exit 1.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from core.http import HttpOptions
from core.upstreams import UpstreamError, network_name
from core.upstreams.bitcoind import AuthError, BitcoindClient, ChainInfo, RpcError
from core.upstreams.esplora import EsploraClient
from core.upstreams.mempool import MempoolClient

OK, WARNING, FAILURE = "ok", "warning", "failure"
TIMEOUT = 3.0
ESPLORA_PORTS = {3000: "main", 3001: "test", 3002: "regtest"}  # electrs src/config.rs defaults
RPC_METHODS = "getblockchaininfo, getblockcount, getblockhash, getblockheader, getblock"


@dataclass(frozen=True)
class Finding:
    """One thing the doctor looked at."""

    part: str
    status: str
    detail: str
    fix: str | None = None
    critical: bool = False

    @property
    def fails(self) -> bool:
        return self.status == FAILURE and self.critical


def _problem(part: str, detail: str, fix: str, critical: bool) -> Finding:
    """A failure when the part is critical, else a warning."""
    return Finding(part, FAILURE if critical else WARNING, detail, fix, critical)


def _http() -> HttpOptions:
    return HttpOptions(
        connect_timeout=TIMEOUT, read_timeout=TIMEOUT, retries=0, deadline=TIMEOUT * 2
    )


# --- the local setup ----------------------------------------------------------------------------


def data_folder() -> list[Finding]:
    path: Path = settings.ORACLE_DATA_DIR
    part = "data folder"
    if not path.is_dir() or not os.access(path, os.W_OK):
        return [Finding(part, FAILURE, f"{path} is not a writable folder",
                        f"create it and give this user write access (mkdir -p {path})", True)]  # fmt: skip
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return [Finding(part, WARNING, f"{path} is readable by other users (mode {mode:o})",
                        f"chmod 700 {path}")]  # fmt: skip
    return [Finding(part, OK, f"{path}, private (mode {mode:o})")]


def app_database() -> list[Finding]:
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db import Error as DatabaseError
    from django.db.migrations.executor import MigrationExecutor

    part = "Django database"
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        waiting = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Finding(part, FAILURE, f"{connection.vendor}: {first}",
                        "check DATABASE_URL and that the database server runs", True)]  # fmt: skip
    finally:
        connections.close_all()
    if waiting:
        return [Finding(part, FAILURE, f"{len(waiting)} migration(s) not applied",
                        "run `oracle migrate` (make run does it)", True)]  # fmt: skip
    return [Finding(part, OK, f"{connection.vendor}, migrations applied")]


def price_store() -> list[Finding]:
    from prices.selectors import ping_price_store
    from prices.store import StoreUnavailable

    part = "price store"
    try:
        ping_price_store()
    except StoreUnavailable as exc:
        return [Finding(part, WARNING, str(exc).splitlines()[0],
                        "start the worker (`oracle run_worker`) or run `oracle migrate_prices`")]  # fmt: skip
    return [Finding(part, OK, f"{settings.DUCKDB_PATH} answers")]


def redis_layer() -> list[Finding]:
    if not settings.REDIS_URL:
        return [Finding("channel layer", OK, "in-memory (one web process); set REDIS_URL for more")]
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=TIMEOUT).ping()
    except redis.RedisError as exc:
        return [Finding("Redis", FAILURE, f"no answer ({type(exc).__name__})",
                        "start Redis or fix REDIS_URL", True)]  # fmt: skip
    return [Finding("Redis", OK, "answers PING")]


# --- the block sources --------------------------------------------------------------------------


def bitcoin_core() -> list[Finding]:
    if not settings.BITCOIN_RPC_CONFIGURED:
        return []
    part = "Bitcoin Core"
    client = BitcoindClient(
        settings.BITCOIN_RPC_URL,
        cookie_file=settings.BITCOIN_RPC_COOKIE_FILE,
        user=settings.BITCOIN_RPC_USER,
        password=settings.BITCOIN_RPC_PASSWORD,
        datadir=settings.BITCOIN_DATADIR,
        http=_http(),
    )
    critical = settings.PRICE_SOURCE == ("bitcoind",)  # else another source may still serve
    try:
        info = client.chain_info()
    except AuthError as exc:
        if "-rpcwhitelist" in exc.reason:
            fix = f"allow {RPC_METHODS} for this user in -rpcwhitelist"
        elif "cookie" in exc.reason:
            fix = ("set BITCOIN_RPC_COOKIE_FILE to the node's .cookie (readable by this user, e.g."
                   " through Core's -rpccookieperms=group) or BITCOIN_RPC_USER/PASSWORD")  # fmt: skip
        else:
            fix = "check BITCOIN_RPC_COOKIE_FILE or BITCOIN_RPC_USER/BITCOIN_RPC_PASSWORD"
        return [_problem(part, exc.reason, fix, critical)]
    except RpcError as exc:
        return [_problem(part, exc.reason, "wait until the node has started", critical)]
    except UpstreamError as exc:
        return [_problem(part, exc.reason,
                         "start Bitcoin Core or set BITCOIN_RPC_URL (mainnet's RPC port is 8332)",
                         critical)]  # fmt: skip
    return _chain_findings(part, info, client, critical)


def _chain_findings(
    part: str, info: ChainInfo, client: BitcoindClient, critical: bool
) -> list[Finding]:
    if info.chain != "main":
        return [_problem(part, f"the node is on {network_name(info.chain)}",
                         "point BITCOIN_RPC_URL at a mainnet node: prices need mainnet blocks",
                         critical)]  # fmt: skip
    if info.initial_block_download:
        return [_problem(part,
                         f"still in initial block download (block {info.blocks:,} of {info.headers:,})",
                         "wait until the node is synced", critical)]  # fmt: skip
    findings = [Finding(part, OK, f"mainnet, block {info.blocks:,}")]
    if info.pruned:
        findings.append(Finding(part, WARNING,
                                f"pruned: keeps blocks from height {info.prune_height:,} on",
                                "days before that cannot be priced from this node"))  # fmt: skip
    try:
        rest = client.rest_enabled()
    except UpstreamError:
        rest = False
    if not rest:
        findings.append(Finding(part, WARNING, "REST interface off: blocks come through RPC",
                                "add rest=1 to bitcoin.conf for faster block reads"))  # fmt: skip
    return findings


def electrs() -> list[Finding]:
    if not settings.ELECTRS_CONFIGURED:
        return []
    part = "electrs (Esplora)"
    critical = settings.PRICE_SOURCE == ("esplora",)
    client = EsploraClient(settings.ELECTRS_URL, _http(), service="electrs")
    try:
        tip = client.tip_height()
        network = client.network()
    except UpstreamError as exc:
        return [_electrs_failure(part, exc, critical)]
    if network != "main":
        port = urlsplit(settings.ELECTRS_URL).port
        hint = ""
        if port in ESPLORA_PORTS and ESPLORA_PORTS[port] != "main":
            hint = f" (port {port} is Esplora's {network_name(ESPLORA_PORTS[port])} port; mainnet's is 3000)"
        return [_problem(part, f"serves {network_name(network)}{hint}",
                         "point ELECTRS_URL at a mainnet electrs", critical)]  # fmt: skip
    return [Finding(part, OK, f"mainnet, block {tip:,}")]


def _electrs_failure(part: str, exc: UpstreamError, critical: bool) -> Finding:
    location = urlsplit(settings.ELECTRS_URL)
    if "HTTP " not in exc.reason and _speaks_something_else(
        location.hostname or "", location.port or 80
    ):
        return _problem(part,
                        "accepts connections but does not speak HTTP: an Electrum server"
                        " (romanz/electrs, as on Umbrel, Start9, RaspiBlitz, myNode)?",
                        "set PRICE_SOURCE=bitcoind (an Electrum server has no Esplora API)",
                        critical)  # fmt: skip
    return _problem(part, exc.reason,
                    "start electrs or fix ELECTRS_URL (Esplora's mainnet port is 3000); on a"
                    " Core-only node set PRICE_SOURCE=bitcoind", critical)  # fmt: skip


def _speaks_something_else(host: str, port: int) -> bool:
    """Whether something listens there and answers an HTTP request with anything but HTTP (or
    nothing at all: an Electrum server waits for a JSON line)."""
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT) as conn:
            conn.settimeout(TIMEOUT)
            conn.sendall(b"GET /blocks/tip/height HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answer = conn.recv(16)
            except TimeoutError:
                return True
    except OSError:
        return False
    return not answer.startswith(b"HTTP/")


def block_source() -> list[Finding]:
    """Whether the configured price source can price a day (what the probes above found)."""
    from prices.utxoracle.sources import BlockSourceError, block_source_from_settings

    source = block_source_from_settings(http=_http())
    try:
        source.check_ready()
    except BlockSourceError as exc:
        return [Finding("price source", FAILURE, f"{source.name}: {exc.reason}",
                        "fix the block source above (or choose another with PRICE_SOURCE)",
                        True)]  # fmt: skip
    chosen = getattr(source, "sources", [source])
    ready = next((s.name for s in chosen if getattr(s, "network", None) == "main"), source.name)
    return [Finding("price source", OK, f"{settings.PRICE_SOURCE[0]}: prices come from {ready}")]


# --- the mempool backend ------------------------------------------------------------------------


def mempool_backend() -> list[Finding]:
    part = "mempool backend"
    client = MempoolClient(settings.MEMPOOL_URL, _http())
    try:
        info = client.backend_info()
    except UpstreamError as exc:
        return [Finding(part, WARNING, exc.reason,
                        "start the mempool backend or fix MEMPOOL_URL (its API port is 8999);"
                        " without it there are no whale alerts and no exchange prices")]  # fmt: skip
    findings = []
    if info.major is not None and info.major < 3:
        findings.append(Finding(part, FAILURE, f"version {info.version}: too old for whale alerts",
                                "upgrade the mempool backend to 3.0 or later (track-mempool)"))  # fmt: skip
    else:
        findings.append(
            Finding(part, OK, f"version {info.version or '?'}, backend {info.backend or '?'}")
        )
    if info.backend == "esplora":
        findings.append(Finding(part, WARNING,
                                "BACKEND=esplora: it serves no transactions; the feed asks ELECTRS_URL",
                                "set ELECTRS_URL to the electrs the backend uses"))  # fmt: skip
    findings += _prices(part, client)
    return findings


def _prices(part: str, client: MempoolClient) -> list[Finding]:
    findings = []
    try:
        usd = client.usd_price()
    except UpstreamError as exc:
        usd = None
        findings.append(Finding(part, WARNING, f"prices: {exc.reason}"))
    if usd is None and not findings:
        findings.append(Finding(part, WARNING, "no exchange price (USD: -1)",
                                "turn on the backend's fiat prices (FIAT_PRICE.ENABLED) and let it"
                                " reach its price feeds; whales then get no USD value from it"))  # fmt: skip
    try:
        client.historical_usd(1_700_000_000)
    except UpstreamError as exc:
        findings.append(Finding(part, WARNING, f"no price history ({exc.reason})",
                                "give the backend a database with price indexing; past days are"
                                " stored without an exchange price meanwhile"))  # fmt: skip
    return findings


def mempool_websocket() -> list[Finding]:
    import asyncio

    from websockets.asyncio.client import connect

    async def probe() -> None:
        async with connect(settings.MEMPOOL_WS_URL, open_timeout=TIMEOUT, close_timeout=1):
            pass

    try:
        asyncio.run(probe())
    except Exception as exc:
        return [Finding("mempool WebSocket", WARNING, f"no connection ({type(exc).__name__})",
                        "fix MEMPOOL_WS_URL (ws://HOST:8999/api/v1/ws)")]  # fmt: skip
    return [Finding("mempool WebSocket", OK, "connects")]


# --- notifications ------------------------------------------------------------------------------


def notifications() -> list[Finding]:
    """Whether apprise understands every NOTIFY_URLS entry; nothing is sent (`notify_test` sends).
    URLs are named by position and scheme only: they hold secrets."""
    if not settings.NOTIFY_URLS:
        return []
    from notify.notifier import accepted, describe

    urls = settings.NOTIFY_URLS
    refused = [describe(index, url) for index, url in enumerate(urls) if not accepted(url)]
    if refused:
        return [Finding("notifications", WARNING,
                        f"apprise does not understand URL {', '.join(refused)}: nothing goes there",
                        "fix NOTIFY_URLS (the service's URL form is in apprise's documentation),"
                        " then send a test with `oracle notify_test`")]  # fmt: skip
    return [Finding("notifications", OK,
                    f"{len(urls)} URL(s), each understood by apprise; `oracle notify_test` sends"
                    " a test")]  # fmt: skip


PROBES: tuple[Callable[[], list[Finding]], ...] = (
    data_folder,
    app_database,
    price_store,
    redis_layer,
    bitcoin_core,
    electrs,
    block_source,
    mempool_backend,
    mempool_websocket,
    notifications,
)


def diagnose(probes: tuple[Callable[[], list[Finding]], ...] = PROBES) -> list[Finding]:
    """Every probe, run concurrently; the findings in the order of the probes."""
    with ThreadPoolExecutor(len(probes)) as pool:
        results = list(pool.map(_safely, probes))
    return [finding for findings in results for finding in findings]


def _safely(probe: Callable[[], list[Finding]]) -> list[Finding]:
    try:
        return probe()
    except Exception as exc:  # a probe must never take the diagnosis down
        name = probe.__name__.replace("_", " ")
        return [Finding(name, FAILURE, f"the check itself failed: {type(exc).__name__}: {exc}")]


def report_text(findings: list[Finding]) -> str:
    """A table for people: one line per finding, the fix below it."""
    width = max((len(f.part) for f in findings), default=10)
    marks = {OK: "ok", WARNING: "warn", FAILURE: "FAIL"}
    lines = []
    for finding in findings:
        lines.append(f"{finding.part:<{width}}  {marks[finding.status]:<4}  {finding.detail}")
        if finding.fix:
            lines.append(f"{'':<{width}}        fix: {finding.fix}")
    failed = [f.part for f in findings if f.fails]
    lines.append("")
    lines.append(
        f"critical problems: {', '.join(failed)}" if failed else "every critical part works"
    )
    return "\n".join(lines)


def report_json(findings: list[Finding]) -> dict[str, Any]:
    return {
        "ok": not any(f.fails for f in findings),
        "findings": [asdict(finding) for finding in findings],
    }
