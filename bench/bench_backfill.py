"""Benchmark a 30-day backfill against the time of single days: what does a day cost when days
are pipelined, and how long would the whole servable history take?

Serves a warmed simulated chain of the last 34 complete days (`python -m simulators.chain
--warm`, 1,500 transactions a block by default) and a loopback mempool backend for the exchange
prices, then in this process (DUCKDB in a temporary folder, the engine's default parsing pool,
Bitcoin Core RPC unless `--source esplora`):

* single day: `PriceIngestion.run(day, day)` on a fresh store, for three different days (mean);
* engine only: `compute_day_price` of the same days, nothing saved (the floor);
* backfill: `PriceIngestion.run(first, last)` over 30 other days on a fresh store, pipelined.

It prints the backfill's time per day against the single day, its blocks per second, and the
whole servable history (2023-12-15 to yesterday) at that pace.

    python bench/bench_backfill.py [--days 30] [--txs-per-block 1500] [--source bitcoind]

Target: backfill time per day <= 1.15 x the mean single-day time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
SINGLE_DAYS = 3
TARGET = 1.15


class MempoolPrices(BaseHTTPRequestHandler):
    """`/api/v1/historical-price`: one point at the hour asked for."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        timestamp = int(parse_qs(url.query).get("timestamp", ["0"])[0])
        body = json.dumps({"prices": [{"time": timestamp - timestamp % 3600, "USD": 63_000}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def start_simulator(first: str, days: int, txs: int, port: int, cookie: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "simulators.chain",
            "--port",
            str(port),
            "--start-date",
            first,
            "--days",
            str(days),
            "--txs-per-block",
            str(txs),
            "--cache-blocks",
            str((days + 1) * 144 + 48),
            "--cookie-file",
            str(cookie),
            "--warm",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if "serving" not in line:
        process.kill()
        raise SystemExit(f"the simulator did not start: {line}")
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--txs-per-block", type=int, default=1500)
    parser.add_argument("--source", choices=("bitcoind", "esplora"), default="bitcoind")
    args = parser.parse_args()
    chain_days = args.days + SINGLE_DAYS + 1
    today = datetime.now(UTC).date()
    first = today - timedelta(days=chain_days)
    port = 19000 + os.getpid() % 1000
    folder = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    cookie = folder / "cookie"
    started = time.perf_counter()
    simulator = start_simulator(first.isoformat(), chain_days, args.txs_per_block, port, cookie)
    print(
        f"simulator: {chain_days} days of 144 blocks x {args.txs_per_block} transactions,"
        f" warmed in {time.perf_counter() - started:.1f} s"
    )
    mempool = ThreadingHTTPServer(("127.0.0.1", 0), MempoolPrices)
    threading.Thread(target=mempool.serve_forever, daemon=True).start()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="oracle.settings",
        ORACLE_DATA_DIR=str(folder),
        ELECTRS_URL=f"http://127.0.0.1:{port}",
        BITCOIN_RPC_URL=f"http://127.0.0.1:{port}",
        BITCOIN_RPC_COOKIE_FILE=str(cookie),
        PRICE_SOURCE=args.source,
        MEMPOOL_URL=f"http://127.0.0.1:{mempool.server_address[1]}",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from prices.ingestion import PriceIngestion
    from prices.utxoracle.engine import EARLIEST_DATE, compute_day_price
    from prices.utxoracle.sources import block_source_from_settings

    try:
        print(f"load average before: {load()}")
        days = [first + timedelta(days=i) for i in range(chain_days)]
        singles, engine_only = [], []
        for index, day in enumerate(days[1 : 1 + SINGLE_DAYS]):
            store = folder / f"single-{index}.duckdb"
            with override_store(store):
                clock = time.perf_counter()
                summary = PriceIngestion().run(day, day)
                singles.append(time.perf_counter() - clock)
            assert summary.counts["valid"] == 1, summary.line()
            clock = time.perf_counter()
            compute_day_price(day, block_source_from_settings())
            engine_only.append(time.perf_counter() - clock)
        single = sum(singles) / len(singles)
        engine = sum(engine_only) / len(engine_only)
        print(f"single day: {single:.2f} s (mean of {SINGLE_DAYS}); engine only: {engine:.2f} s")
        backfill_days = days[1 + SINGLE_DAYS : 1 + SINGLE_DAYS + args.days]
        with override_store(folder / "backfill.duckdb"):
            clock = time.perf_counter()
            summary = PriceIngestion().run(backfill_days[0], backfill_days[-1])
            elapsed = time.perf_counter() - clock
        assert summary.counts["valid"] == len(backfill_days), summary.line()
        print(f"backfill: {summary.line()}")
        per_day = elapsed / len(backfill_days)
        blocks = 144 * len(backfill_days)
        print(
            f"backfill of {len(backfill_days)} days: {elapsed:.1f} s = {per_day:.2f} s a day"
            f" ({blocks / elapsed:.0f} blocks/s), {per_day / single:.2f} x the single day"
            f" (target <= {TARGET})"
        )
        history = (today - EARLIEST_DATE).days  # 2023-12-15 .. yesterday
        print(
            f"servable history, {EARLIEST_DATE} to yesterday ({history} days) at this pace:"
            f" {timedelta(seconds=round(history * per_day))}"
        )
        print(f"load average after: {load()}")
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    finally:
        simulator.terminate()
        simulator.wait(10)
        mempool.shutdown()


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


@contextmanager
def override_store(path: Path) -> Iterator[None]:
    """Point settings.DUCKDB_PATH at another file for a while."""
    from django.conf import settings

    previous, settings.DUCKDB_PATH = settings.DUCKDB_PATH, path
    try:
        yield
    finally:
        settings.DUCKDB_PATH = previous


if __name__ == "__main__":
    main()
