"""Benchmark the price API on one daphne process over ten years of daily rows.

Builds a store with 3,650 days and their per-block rows (144 a day, 525,600 in all), publishes its
snapshot, starts `daphne oracle.asgi:application` with production settings (DEBUG off, JSON logs at
INFO) and measures, over keep-alive HTTP/1.1 from this process:

* latency of `/api/prices/latest` and `/api/prices/historical?days=3650`: p50, p99 and mean of
  sequential requests after a warm-up;
* the same for the first request after a new snapshot is published (answers are rendered once
  per snapshot, so this is the uncached cost, including the reopening of the snapshot);
* throughput: requests per second with several concurrent clients (threads) for a few seconds;
* `/` (the service index, no store access) as the baseline of the HTTP stack.

    python bench/bench_prices_api.py [--latest-requests 2000] [--historical-requests 300]
                                     [--clients 4] [--seconds 10]

Targets: latest p50 <= 5 ms, historical(3650) p50 <= 30 ms.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
DAYS = 3650
LATEST = "/api/prices/latest"
HISTORICAL = f"/api/prices/historical?days={DAYS}"


def build_store(path: Path) -> None:
    """Fill a store with DAYS valid days ending yesterday, and their blocks, then publish it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oracle.settings")
    import django

    django.setup()
    from prices.store import open_writer

    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    first = yesterday - timedelta(days=DAYS - 1)
    with open_writer(path) as writer:
        writer.conn.execute(
            """
            INSERT INTO daily_prices
            SELECT d, p, p * 1.004, round(p * 0.004, 2), 0.4, 0.8, 0.08, 40000 + i % 5000,
                   6000 + i % 900, 600000 + i * 144, 600000 + i * 144 + 143, true, NULL,
                   'utxoracle-9.1', 'esplora', d + INTERVAL 1 DAY + INTERVAL 70 MINUTE
            FROM (SELECT i, ?::DATE + i::INTEGER AS d, 20000 + i * 20.0 + (i % 7) * 35 AS p
                  FROM range(?) t(i))
            """,
            [first, DAYS],
        )
        writer.conn.execute(
            """
            INSERT INTO block_prices
            SELECT ?::DATE + (i // 144)::INTEGER, 600000 + i,
                   ?::TIMESTAMP + to_seconds(i * 600 + 300), 20000 + (i // 144) * 20.0, 40
            FROM range(?) t(i)
            """,
            [first, first, DAYS * 144],
        )


def start_daphne(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "oracle.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", LATEST)
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"daphne did not answer: {log.read_text()[-2000:]}")


def timed_requests(port: int, path: str, count: int) -> list[float]:
    """Milliseconds of each of `count` sequential requests on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        timings.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status}")
    connection.close()
    return timings


def cold_requests(port: int, path: str, store: Path, count: int) -> list[float]:
    """Milliseconds of the first request after each of `count` snapshot publications."""
    from prices.store import open_writer

    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    timings = []
    for attempt in range(count):
        with open_writer(store) as writer:  # a change: a new snapshot is published
            writer.set_exchange_price(yesterday, 60_000.0 + attempt)
        timings += timed_requests(port, path, 1)
    return timings


def throughput(port: int, path: str, clients: int, seconds: float) -> float:
    """Requests per second served to `clients` concurrent keep-alive clients."""
    stop = time.monotonic() + seconds
    counts = [0] * clients

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            connection.request("GET", path)
            connection.getresponse().read()
            counts[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def report(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name}: p50 {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms,"
        f" mean {statistics.fmean(ordered):.2f} ms ({len(ordered)} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latest-requests", type=int, default=2000)
    parser.add_argument("--historical-requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-prices-") as folder:
        data = Path(folder)
        env = {
            **os.environ,
            "ORACLE_DATA_DIR": str(data),
            "DUCKDB_PATH": str(data / "prices.duckdb"),
            "DJANGO_SETTINGS_MODULE": "oracle.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_HTTPS": "false",  # plain HTTP on loopback: no redirect to https
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "PYTHONPATH": str(ROOT),
        }
        os.environ.update({k: env[k] for k in ("ORACLE_DATA_DIR", "DUCKDB_PATH", "LOG_LEVEL")})
        started = time.perf_counter()
        build_store(data / "prices.duckdb")
        size = sum(p.stat().st_size for p in (data / "prices.duckdb.snapshots").iterdir())
        print(
            f"store: {DAYS} days, {DAYS * 144} block rows, snapshot {size / 1e6:.1f} MB,"
            f" built in {time.perf_counter() - started:.1f} s"
        )
        port = 18000 + os.getpid() % 1000
        daphne = start_daphne(env, port, data / "daphne.log")
        try:
            timed_requests(port, LATEST, 200)
            timed_requests(port, HISTORICAL, 20)
            print(report("/", timed_requests(port, "/", 1000)))
            print(report(LATEST, timed_requests(port, LATEST, args.latest_requests)))
            print(report(HISTORICAL, timed_requests(port, HISTORICAL, args.historical_requests)))
            store = data / "prices.duckdb"
            print(
                report(f"{LATEST} (first after a publish)", cold_requests(port, LATEST, store, 30))
            )
            print(
                report(
                    f"{HISTORICAL} (first after a publish)",
                    cold_requests(port, HISTORICAL, store, 30),
                )
            )
            for path in (LATEST, HISTORICAL):
                rate = throughput(port, path, args.clients, args.seconds)
                print(f"{path}: {rate:.0f} req/s with {args.clients} concurrent clients")
        finally:
            daphne.terminate()
            daphne.wait(10)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
