"""Many WebSocket subscribers: latency from an alert's commit to its arrival, losses, duplicates.

    .venv/bin/python bench/subscribers.py                    # 1,000 subscribers, one daphne
    .venv/bin/python bench/subscribers.py --batch            # the same, subscribed with batches
    .venv/bin/python bench/subscribers.py --web-processes 2 --redis redis://127.0.0.1:6379/0

A producer stores alerts exactly as the feed does (`store.save_alert`, then publish) at `--rate`
per second for `--seconds`, then `--burst` alerts at once. Subscribers live in `--load-processes`
separate processes on the same machine; latency is from the moment an alert's insert was committed
to its arrival at a subscriber (same host, same clock). The web processes are started as `make run`
starts them (`tests.support.start_daphne`, through scripts/web.py for more than one). Without
--redis they learn of new alerts from the store (relay polling), as in a single-machine install.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import start_daphne  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


# --- load process -------------------------------------------------------------------------------


async def load(port: int, count: int, token: str, batch: bool, expect: int, out: Path) -> None:
    """Hold `count` subscriptions and record (id, arrival time) of every alert until all arrived."""
    from websockets.asyncio.client import connect

    sockets = []
    for _ in range(count):
        ws = await connect(f"ws://127.0.0.1:{port}/ws/alerts/?token={token}", max_queue=None)
        assert json.loads(await ws.recv())["type"] == "welcome"
        await ws.send(json.dumps({"type": "subscribe", "batch": batch}))
        assert json.loads(await ws.recv())["type"] == "subscribed"
        sockets.append(ws)
    print("ready", flush=True)
    results: list[list[tuple[int, float]]] = [[] for _ in sockets]

    async def collect(ws, received: list[tuple[int, float]]) -> None:
        while len(received) < expect:
            message = await ws.recv()
            arrived = time.time()
            frame = json.loads(message)
            items = frame["alerts"] if frame["type"] == "whale_alerts" else [frame]
            received.extend(
                (item["id"], arrived) for item in items if item["type"] == "whale_alert"
            )

    tasks = [
        asyncio.create_task(collect(ws, got)) for ws, got in zip(sockets, results, strict=True)
    ]
    await asyncio.wait(tasks, timeout=float(os.environ.get("BENCH_COLLECT_TIMEOUT", "120")))
    out.write_text(json.dumps(results))
    for ws in sockets:
        ws.transport.abort()


# --- producer -----------------------------------------------------------------------------------


async def produce(rate: float, seconds: float, burst: int) -> tuple[dict[int, float], list, list]:
    """Store and publish alerts; when each was stored (commit done), the steady and burst ids."""
    from channels.db import database_sync_to_async

    from alerts import store
    from alerts.detector import FeeLevels, Thresholds, detect, parse_transaction
    from alerts.events import ALERT, event_for, publish
    from simulators.mempool import make_transaction

    rng = random.Random(7)
    fees = FeeLevels(20, 12, 8, 4, 1)
    save = database_sync_to_async(store.save_alert)

    stored_at: dict[int, float] = {}

    async def one() -> int:
        tx = parse_transaction(make_transaction(rng, btc=rng.uniform(100, 5_000)))
        alert = detect(tx, Thresholds(100), usd_price=60_000.0, fees=fees, seen_at=time.time())
        row = await save(alert)
        stored_at[row.id] = time.time()
        await publish(event_for(row, ALERT))
        return row.id

    await one()  # warm-up: connections to the store and the channel layer
    steady = []
    started = time.monotonic()
    for index in range(round(rate * seconds)):
        await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
        steady.append(await one())
    await asyncio.sleep(3)
    bursty = [await one() for _ in range(burst)]
    return stored_at, steady, bursty


# --- orchestration ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--load-processes", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--batch", action="store_true", help="subscribe with batch: true")
    parser.add_argument("--web-processes", type=int, default=1)
    parser.add_argument("--redis", default=None, help="REDIS_URL for the channel layer")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        asyncio.run(
            load(args.port, args.count, args.token, args.batch, args.expect, Path(args.out))
        )
        return

    workdir = Path(tempfile.mkdtemp(prefix="oracle-bench-"))
    env = {
        "DJANGO_SETTINGS_MODULE": "oracle.settings",
        "ORACLE_ENV_FILE": os.devnull,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "ORACLE_DATA_DIR": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'oracle.sqlite3'}",
        "LOG_LEVEL": "WARNING",
        # One token for every subscriber of the bench (real subscribers have one each).
        "ALERTS_MAX_SOCKETS_PER_TOKEN": str(args.clients),
    }
    os.environ.pop("REDIS_URL", None)
    if args.redis:
        env["REDIS_URL"] = args.redis
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command

    from alerts.tokens import create_token

    call_command("migrate", verbosity=0)
    _, token = create_token("bench")
    load_average = os.getloadavg()
    web = start_daphne(workdir, processes=args.web_processes, **env)
    try:
        expect = 1 + round(args.rate * args.seconds) + args.burst
        loaders = []
        per_process = args.clients // args.load_processes
        for index in range(args.load_processes):
            count = per_process + (1 if index < args.clients % args.load_processes else 0)
            out = workdir / f"load-{index}.json"
            command = [sys.executable, __file__, "--load", "--port", str(web.port)]
            command += ["--count", str(count), "--token", token, "--expect", str(expect)]
            command += ["--out", str(out), *(["--batch"] if args.batch else [])]
            loader = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
            loaders.append((loader, out))
        for loader, _ in loaders:
            assert loader.stdout.readline().strip() == "ready"
        print(
            f"{args.clients} subscribers connected to {args.web_processes} web process(es)",
            flush=True,
        )
        stored_at, steady, bursty = asyncio.run(produce(args.rate, args.seconds, args.burst))
        for loader, _ in loaders:
            loader.wait(timeout=300)
        results = [json.loads(out.read_text()) for _, out in loaders]
        report(results, stored_at, steady, bursty, args, load_average)
    finally:
        web.stop(timeout=30)
    shutil.rmtree(workdir, ignore_errors=True)


def report(results, stored_at: dict[int, float], steady: list, bursty: list, args, load_average):
    steady_ids, burst_ids = set(steady), set(bursty)
    expected = steady_ids | burst_ids
    steady_ms, burst_ms = [], []
    lost = duplicates = 0
    connections = [connection for process in results for connection in process]
    for received in connections:
        ids = [alert_id for alert_id, _ in received]
        duplicates += len(ids) - len(set(ids))
        lost += len(expected - set(ids))
        for alert_id, arrived in received:
            latency = (arrived - stored_at[alert_id]) * 1000
            if alert_id in steady_ids:
                steady_ms.append(latency)
            elif alert_id in burst_ids:
                burst_ms.append(latency)
    layer = f"Redis ({args.redis})" if args.redis else "in-memory layer + store relay"
    print(
        f"layer: {layer}; {args.web_processes} web process(es); {len(connections)} subscribers"
        f"{' (batch)' if args.batch else ''}; {len(steady)} steady + {len(bursty)} burst alerts"
    )
    for name, values in (("steady", steady_ms), ("burst", burst_ms)):
        print(
            f"{name:6}: p50 {percentile(values, 0.5):7.1f} ms  p99 {percentile(values, 0.99):7.1f} ms"
            f"  max {max(values, default=float('nan')):7.1f} ms  mean {statistics.fmean(values) if values else float('nan'):7.1f} ms"
        )
    print(f"lost: {lost}  duplicates: {duplicates}")
    now = os.getloadavg()
    print(
        f"load average before: {load_average[0]:.2f} {load_average[1]:.2f}; after: {now[0]:.2f} {now[1]:.2f} ({os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
