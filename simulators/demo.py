"""`python -m simulators.demo` (`make demo`): the whole service on a simulated node, in about a minute.

It starts the chain simulator (Esplora REST + Core RPC) with the last 90 complete UTC days (the
dashboard's span) and the mempool simulator (live traffic, an occasional whale, exchange prices
near the chain's planted prices), migrates its own data directory, backfills the `--days` before
yesterday (the older days are left for the admin's "Backfill missing days"), starts daphne and the
worker pointed at the simulators, and prints the URLs, an admin login and a subscriber token.
Notifications go to a local inbox (`simulators.inbox`), which writes them to
logs/notifications.jsonl.

The chain is live: its tip starts BEHIND_BLOCKS before the end of yesterday and a block is mined
every MINE_EVERY_SECONDS until the chain reaches the present, then every ten minutes as the clock
goes. So while the demo runs, yesterday completes (the worker computes and stores it) and today's
provisional price moves with each block.

Every child runs in its own process group. Ctrl-C, SIGTERM or SIGHUP stops them all (SIGTERM to
each group, SIGKILL to what is left after a grace period), as does any child exiting on its own.

The data directory (`data/demo/` by default) is reused while it was made for the same chain (same
days, seed and size), so a second start on the same day skips the backfill; otherwise it is wiped.
A directory that holds anything but a demo is never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

import requests

from simulators.chain import ChainParams, SimulatedChain

ROOT = Path(__file__).resolve().parent.parent
MARKER = "demo.json"
ADMIN_USER = "admin"
CHAIN_DAYS = 90
EXCHANGE_SPREAD = 0.004  # relative standard deviation of the exchange price around the planted one
STOP_GRACE_SECONDS = 10.0
HEALTHY_WITHIN_SECONDS = 30.0
MINE_EVERY_SECONDS = 1.0
BEHIND_BLOCKS = 12  # yesterday's last blocks, mined while the demo starts
WILDCARD_HOSTS = ("0.0.0.0", "::")
POLL_SECONDS = 0.1
# Variables of the user's environment that would point the demo at other stores.
FOREIGN_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "DUCKDB_PATH",
    "BITCOIN_RPC_USER",
    "BITCOIN_RPC_PASSWORD",
    "DJANGO_SETTINGS_MODULE",
)


class DemoError(Exception):
    """The demo cannot start or go on; the message says why."""


class Stop(Exception):
    """A signal asked the demo to stop."""


@dataclass(frozen=True)
class Options:
    """What the command line chose."""

    host: str = "127.0.0.1"
    port: int = 8000
    chain_port: int = 18443
    mempool_port: int = 8999
    inbox_port: int = 8997
    data_dir: Path = ROOT / "data" / "demo"
    days: int = 30
    txs_per_block: int = 20
    seed: int = 1
    whale_every: float = 15.0
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    @property
    def ports(self) -> dict[str, int]:
        return {
            "--port": self.port,
            "--chain-port": self.chain_port,
            "--mempool-port": self.mempool_port,
            "--inbox-port": self.inbox_port,
        }

    @property
    def chain(self) -> ChainParams:
        """The simulated chain: the last CHAIN_DAYS (or `days` + 1) complete UTC days; the
        chain simulator mines the end of yesterday and today's blocks while the demo runs."""
        chain_days = max(CHAIN_DAYS, self.days + 1)
        return ChainParams(
            seed=self.seed,
            start_date=self.today - timedelta(days=chain_days),
            days=chain_days,
            price=95_000.0,
            daily_change=0.02,
            txs_per_block=self.txs_per_block,
        )

    @property
    def local_host(self) -> str:
        """Where this machine reaches daphne: the bound address, loopback for a wildcard."""
        return "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host

    @property
    def base_url(self) -> str:
        return f"http://{self.local_host}:{self.port}"


def busy_ports(host: str, ports: dict[str, int]) -> list[str]:
    """The options whose port cannot be bound on `host` right now, e.g. ["--port 8000"]."""
    busy = []
    for option, port in ports.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise DemoError(f"cannot use {host}:{port} ({exc.strerror})") from None
                busy.append(f"{option} {port}")
    return busy


def prepare_data_dir(data_dir: Path, fingerprint: dict[str, object]) -> bool:
    """Make `data_dir` ready for this chain; True when an earlier demo's data is reused."""
    marker = data_dir / MARKER
    if marker.is_file():
        if json.loads(marker.read_text()) == fingerprint:
            return True
        shutil.rmtree(data_dir)
    elif data_dir.exists() and any(data_dir.iterdir()):
        raise DemoError(f"{data_dir} holds something other than a demo; choose another --data-dir")
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(fingerprint))
    return False


def exchange_prices(chain: SimulatedChain, seed: int) -> dict[str, float]:
    """Exchange prices of the chain's days: the planted price give or take a little."""
    rng = random.Random(seed)
    return {
        day.isoformat(): round(chain.day_price(day) * (1 + rng.gauss(0, EXCHANGE_SPREAD)), 2)
        for day in chain.days
    }


def service_env(options: Options, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the service's processes: production settings pointed at the simulators."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if k not in FOREIGN_VARIABLES
    }
    chain_url = f"http://127.0.0.1:{options.chain_port}"
    mempool = f"127.0.0.1:{options.mempool_port}"
    env.update(
        DJANGO_SETTINGS_MODULE="oracle.settings",
        ORACLE_ENV_FILE=os.devnull,  # an operator's .env in the checkout is not the demo's
        DJANGO_ALLOWED_HOSTS=f"localhost,127.0.0.1,[::1],{options.host}",
        DJANGO_HTTPS="false",  # plain HTTP on this machine, no TLS proxy
        ORACLE_DATA_DIR=str(options.data_dir),
        ELECTRS_URL=chain_url,
        BITCOIN_RPC_URL=chain_url,
        BITCOIN_RPC_COOKIE_FILE=str(options.data_dir / "bitcoind.cookie"),
        PRICE_SOURCE="auto",
        NOTIFY_URLS=f"json://127.0.0.1:{options.inbox_port}/",  # simulators.inbox
        MEMPOOL_URL=f"http://{mempool}",
        MEMPOOL_WS_URL=f"ws://{mempool}/api/v1/ws",
        PRICE_UPDATE_SECONDS="10",  # yesterday is stored soon after its last block
        PRICE_TODAY_POLL_SECONDS="2",  # today's price follows each block of the live chain
        HEALTH_SAMPLE_SECONDS="10",
        HEALTH_CACHE_SECONDS="1",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Child:
    """A process the demo started, leader of its own process group."""

    name: str
    process: subprocess.Popen

    def exited(self) -> bool:
        """Whether it has exited (without reaping it, so its group id stays reserved)."""
        return (
            os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        )

    def kill_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)


class Children:
    """Starts processes in their own groups, writes their output to log files, stops them all."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[Child] = []
        self.started = 0

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def start(self, name: str, args: Sequence[str], *, quiet: bool = True, **env: str) -> Child:
        """Start `python ARGS`; with `quiet` its stdout and stderr go to logs/NAME.log."""
        output: TextIO | None = self.log_path(name).open("w") if quiet else None
        try:
            process = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env={**self.env, **env},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        finally:
            if output is not None:
                output.close()
        child = Child(name, process)
        self.running.append(child)
        self.started += 1
        return child

    def run(self, name: str, args: Sequence[str], *, quiet: bool = True, **env: str) -> str:
        """Run `python ARGS` to its end; its output (when quiet), or DemoError if it failed."""
        child = self.start(name, args, quiet=quiet, **env)
        while not child.exited():
            time.sleep(POLL_SECONDS)
        self.reap(child)
        output = self.log_path(name).read_text() if quiet else ""
        if child.process.returncode != 0:
            raise DemoError(
                f"{name} failed (exit status {child.process.returncode}):\n{output[-2000:]}"
            )
        return output

    def reap(self, child: Child) -> None:
        """End what is left of an exited child's group, then collect its status."""
        child.kill_group(signal.SIGKILL)
        child.process.wait()
        self.running.remove(child)

    def first_exited(self) -> Child | None:
        return next((child for child in self.running if child.exited()), None)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM every group; SIGKILL them after `grace` seconds; reap every child."""
        for child in self.running:
            child.kill_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not all(c.exited() for c in self.running):
            time.sleep(POLL_SECONDS)
        for child in list(self.running):
            self.reap(child)


def wait_for_port(
    port: int, child: Child, children: Children, timeout: float = 60.0, host: str = "127.0.0.1"
) -> None:
    """Wait until something listens on `host`:`port`; DemoError if the child dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.exited():
            log = children.log_path(child.name).read_text()[-2000:]
            raise DemoError(f"{child.name} exited before listening on port {port}:\n{log}")
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(POLL_SECONDS)
    raise DemoError(f"{child.name} did not listen on port {port} within {timeout:g} s")


def chain_args(options: Options) -> list[str]:
    params = options.chain
    return [
        "-m", "simulators.chain",
        "--port", str(options.chain_port),
        "--seed", str(params.seed),
        "--start-date", params.start_date.isoformat(),
        "--days", str(params.days),
        "--price", str(params.price),
        "--daily-change", str(params.daily_change),
        "--txs-per-block", str(params.txs_per_block),
        "--cookie-file", str(options.data_dir / "bitcoind.cookie"),
        "--rest",
        "--mine-every", str(MINE_EVERY_SECONDS),
        "--start-behind", str(BEHIND_BLOCKS),
    ]  # fmt: skip


def mempool_args(options: Options, chain: SimulatedChain, prices_file: Path) -> list[str]:
    """Unseeded: a reused data directory has the earlier runs' whales, which a repeat would dedupe."""
    return [
        "-m", "simulators.mempool",
        "--port", str(options.mempool_port),
        "--whale-every", str(options.whale_every),
        "--block-every", "120",
        "--price", f"{chain.price_at(chain.tip):.2f}",
        "--historical-prices", str(prices_file),
    ]  # fmt: skip


def notifications_file(options: Options) -> Path:
    return options.data_dir / "logs" / "notifications.jsonl"


def inbox_args(options: Options) -> list[str]:
    """The notification inbox: what the service sends to NOTIFY_URLS, one JSON line each."""
    return [
        "-m", "simulators.inbox",
        "--port", str(options.inbox_port),
        "--file", str(notifications_file(options)),
    ]  # fmt: skip


def wait_until_healthy(base_url: str, timeout: float = HEALTHY_WITHIN_SECONDS) -> str:
    """Poll /health until it says healthy or `timeout` passes; what it said last, e.g.
    "degraded (mempool_feed: no message from the mempool backend yet)"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            report = requests.get(f"{base_url}/health", timeout=5).json()
        except (requests.RequestException, ValueError) as exc:
            said = f"no answer ({type(exc).__name__})"
        else:
            failing = [
                f"{name}: {check['error']}"
                for name, check in report["checks"].items()
                if check["status"] != "ok"
            ]
            said = report["status"] + (f" ({'; '.join(failing)})" if failing else "")
            if report["status"] == "healthy":
                return said
        if time.monotonic() >= deadline:
            return said
        time.sleep(POLL_SECONDS * 5)


def summary(
    options: Options, password: str, token: str, health: str, elapsed: float, cloud_day: date
) -> str:
    """What the operator needs once everything runs."""
    base = options.base_url
    ws = base.replace("http://", "ws://", 1)
    rows = [
        ("dashboard", f"{base}/admin/dashboard/"),
        ("admin", f"{base}/admin/  (user {ADMIN_USER}, password {password})"),
        ("price series", f"{base}/admin/prices/priceseries/"),
        ("price cloud", f"{base}/admin/prices/priceseries/{cloud_day}/"),
        ("service history", f"{base}/admin/health/checksample/service-history/"),
        ("live alerts", f"{base}/alerts/live"),
        ("price API", f"{base}/api/prices/latest  (docs: {base}/api/docs)"),
        ("today so far", f"{base}/api/prices/today"),
        ("health", f"{base}/health  ({health})"),
        ("alert socket", f"{ws}/ws/alerts/?token={token}"),
        ("simulated node", f"Esplora + Core RPC http://127.0.0.1:{options.chain_port}"),
        ("mempool backend", f"http://127.0.0.1:{options.mempool_port}"),
        ("metrics", f"curl -H 'Authorization: Bearer {token}' {base}/metrics"),
        ("notifications", f"{notifications_file(options)}  (whales from 1,000 BTC, health, days)"),
        ("logs", str(options.data_dir / "logs")),
    ]
    lines = [f"  {label:<16}{value}" for label, value in rows]
    return "\n".join(
        [
            f"oracle demo ready in {elapsed:.0f} s:",
            *lines,
            "Ctrl-C stops every process of the demo.",
        ]
    )


def start(options: Options, children: Children, say: Callable[[str], None]) -> str:
    """Bring the demo up; return the summary to print."""
    started = time.monotonic()
    busy = busy_ports(options.host, options.ports)
    if busy:
        raise DemoError(
            f"port(s) in use: {', '.join(busy)}; stop what listens there or choose another port"
        )
    chain = SimulatedChain(options.chain)
    fingerprint = {k: str(v) for k, v in asdict(options.chain).items()}
    reused = prepare_data_dir(options.data_dir, fingerprint)
    prices_file = options.data_dir / "exchange-prices.json"
    prices_file.write_text(json.dumps(exchange_prices(chain, options.seed)))
    first, last = chain.days[-options.days - 1], chain.days[-2]
    say(
        f"Simulated node: {len(chain.days)} days ({chain.days[0]}..{chain.days[-1]}, mining the end"
        f" of {chain.days[-1]} and today) on ports {options.chain_port} and {options.mempool_port};"
        f" data in {options.data_dir}" + (" (reused)" if reused else "")
    )
    chain_sim = children.start("chain-simulator", chain_args(options))
    mempool_sim = children.start("mempool-simulator", mempool_args(options, chain, prices_file))
    inbox = children.start("inbox", inbox_args(options))
    command = dict(LOG_FORMAT="console", LOG_LEVEL="WARNING")
    children.run("migrate", ["manage.py", "migrate", "--noinput"], **command)
    children.run("migrate_prices", ["manage.py", "migrate_prices"], **command)
    wait_for_port(options.chain_port, chain_sim, children)
    wait_for_port(options.mempool_port, mempool_sim, children)
    wait_for_port(options.inbox_port, inbox, children)
    say(children.run("doctor", ["manage.py", "doctor"], **command).rstrip())
    password = secrets.token_urlsafe(12)
    account = dict(ORACLE_ADMIN_USER=ADMIN_USER, ORACLE_ADMIN_PASSWORD=password)
    children.run("ensure_admin", ["manage.py", "ensure_admin"], **command, **account)
    # A day's token, replacing the one of the previous run: demo tokens do not pile up.
    demo_token = ["manage.py", "create_alert_token", "demo", "--expires-in", "1", "--replace"]
    token = children.run("create_alert_token", demo_token, **command)
    say(f"Backfilling {first}..{last}:")
    backfill = [
        "manage.py",
        "backfill_prices",
        "--from",
        first.isoformat(),
        "--to",
        last.isoformat(),
    ]
    children.run("backfill_prices", backfill, quiet=False, **command)
    web = children.start(
        "web",
        ["-m", "daphne", "-b", options.host, "-p", str(options.port), "oracle.asgi:application"],
    )
    children.start("worker", ["manage.py", "run_worker"])
    wait_for_port(options.port, web, children, host=options.local_host)
    health = wait_until_healthy(options.base_url)
    token = token.strip().splitlines()[-1]
    return summary(options, password, token, health, time.monotonic() - started, last)


def run(options: Options, out: TextIO = sys.stdout) -> int:
    """Start the demo and keep it running until a signal or a child's exit; the exit status."""

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    def stop_on(signum: int, frame: object) -> None:
        raise Stop(signal.Signals(signum).name)

    previous = {
        sig: signal.signal(sig, stop_on) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    children = Children(service_env(options), options.data_dir / "logs")
    status = 0
    try:
        say(start(options, children, say))
        while (ended := children.first_exited()) is None:
            time.sleep(POLL_SECONDS)
        children.reap(ended)
        say(
            f"{ended.name} exited (status {ended.process.returncode}); see {children.log_path(ended.name)}"
        )
        status = 1
    except Stop as stop:
        say(f"{stop}: stopping")
    except DemoError as exc:
        say(f"oracle demo: {exc}")
        status = 1
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        children.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if children.started:
        say("Every demo process has stopped.")
    return status


def parse_args(argv: Sequence[str] | None = None) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog="python -m simulators.demo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--host", default=defaults.host, help="address daphne binds")
    parser.add_argument("--port", type=int, default=defaults.port, help="web port")
    parser.add_argument(
        "--chain-port", type=int, default=defaults.chain_port, help="chain simulator port"
    )
    parser.add_argument(
        "--mempool-port", type=int, default=defaults.mempool_port, help="mempool simulator port"
    )
    parser.add_argument(
        "--inbox-port", type=int, default=defaults.inbox_port, help="notification inbox port"
    )
    parser.add_argument("--data-dir", type=Path, default=defaults.data_dir)
    parser.add_argument("--days", type=int, default=defaults.days, help="complete days to backfill")
    parser.add_argument(
        "--whale-every", type=float, default=defaults.whale_every, metavar="SECONDS"
    )
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    return Options(
        host=args.host,
        port=args.port,
        chain_port=args.chain_port,
        mempool_port=args.mempool_port,
        inbox_port=args.inbox_port,
        data_dir=args.data_dir.resolve(),
        days=args.days,
        whale_every=args.whale_every,
    )


def main(argv: Sequence[str] | None = None) -> None:
    sys.exit(run(parse_args(argv)))


if __name__ == "__main__":
    main()
