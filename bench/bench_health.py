"""Benchmark /health on one real daphne process over loopback (run by hand; the README quotes it).

1. Warm cache: client processes (each with several keep-alive connections) GET /health for a
   while; prints requests/s, p50/p99 latency, and the upstream probes per minute counted on the
   stub electrs, mempool backend and Bitcoin RPC servers (target: at most one per check per
   HEALTH_CACHE_SECONDS window).
2. Hung upstreams: electrs and the mempool backend accept the connection and never answer; with
   the cache off every /health request probes them; prints p50/max latency (target: at most
   HEALTH_CHECK_TIMEOUT + 150 ms).

    .venv/bin/python bench/bench_health.py [--seconds 20] [--clients 2] [--connections 8]
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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.logging import configure_logging  # noqa: E402
from tests.health.price_store import complete_store  # noqa: E402
from tests.health.upstreams import Upstreams  # noqa: E402
from tests.support import ServiceProcess, service_env, start_daphne  # noqa: E402

CHECK_TIMEOUT = 2.0
CACHE_SECONDS = 5.0


def hammer(port: int, seconds: float, connections: int, path: str = "/health") -> list[float]:
    """GET `path` on `connections` keep-alive connections for `seconds`; the latencies in s."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    def one_connection() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
            mine.append(time.perf_counter() - started)
        connection.close()
        latencies.extend(mine)

    threads = [threading.Thread(target=one_connection) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def percentile(ordered: list[float], pct: float) -> float:
    return ordered[max(0, round(pct / 100 * len(ordered)) - 1)]


def serve(workdir: Path, upstreams: Upstreams, **env: str) -> ServiceProcess:
    settings = {
        "ORACLE_DATA_DIR": str(workdir / "data"),
        "DUCKDB_PATH": str(workdir / "prices.duckdb"),
        "ELECTRS_URL": upstreams.url("electrs"),
        "MEMPOOL_URL": upstreams.url("mempool"),
        "BITCOIN_RPC_URL": upstreams.url("rpc"),
        "HEALTH_CHECK_TIMEOUT": str(CHECK_TIMEOUT),
        "DJANGO_SETTINGS_MODULE": "oracle.settings",
        "DJANGO_HTTPS": "false",  # plain HTTP on loopback: no redirect to https
        **env,
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=service_env(**settings),
        check=True,
        stderr=subprocess.DEVNULL,
    )
    return start_daphne(workdir, **settings)


def load(port: int, seconds: float, clients: int, connections: int, path: str):
    """Load `path` from `clients` processes; (sorted latencies, elapsed seconds)."""
    started = time.perf_counter()
    with ProcessPoolExecutor(clients) as pool:
        runs = [pool.submit(hammer, port, seconds, connections, path) for _ in range(clients)]
        latencies = sorted(lat for run in runs for lat in run.result())
    return latencies, time.perf_counter() - started


def warm_cache(workdir: Path, seconds: float, clients: int, connections: int, log_level: str):
    upstreams = Upstreams().start()
    service = serve(
        workdir, upstreams, HEALTH_CACHE_SECONDS=str(CACHE_SECONDS), LOG_LEVEL=log_level
    )
    try:
        hammer(service.port, 1.0, 2)  # warm up: URLconf, first probes
        before = {name: upstreams.hits(name) for name in upstreams.servers}
        latencies, elapsed = load(service.port, seconds, clients, connections, "/health")
        probes = {name: upstreams.hits(name) - before[name] for name in upstreams.servers}
        index, index_elapsed = load(service.port, seconds / 2, clients, connections, "/")
    finally:
        service.stop()
        upstreams.stop()
    allowed = 60 / CACHE_SECONDS
    print(
        f"warm cache, LOG_LEVEL={log_level}, {clients} client processes x {connections} connections, {elapsed:.1f} s"
    )
    print(f"  requests/s: {len(latencies) / elapsed:.0f} ({len(latencies)} requests)")
    print(
        f"  latency p50 {percentile(latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.1f} ms"
    )
    print(
        f"  for comparison, GET / (the index view) on the same process: "
        f"{len(index) / index_elapsed:.0f} requests/s, p50 {percentile(index, 50) * 1000:.1f} ms"
    )
    for name, count in probes.items():
        print(
            f"  {name} probes/min: {count * 60 / elapsed:.1f} (allowed {allowed:.0f}: one per {CACHE_SECONDS:g} s window)"
        )


def hung_upstreams(workdir: Path, requests: int) -> None:
    upstreams = Upstreams(modes={"electrs": "hang", "mempool": "hang", "rpc": "ok"}).start()
    service = serve(workdir, upstreams, HEALTH_CACHE_SECONDS="0")
    try:
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
        connection.request("GET", "/health/live")  # a started process: its URLconf is loaded
        connection.getresponse().read()
        latencies = []
        for _ in range(requests):
            started = time.perf_counter()
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
        connection.close()
    finally:
        service.stop()
        upstreams.stop()
    print("  each:", " ".join(f"{lat * 1000:.0f}" for lat in latencies), "ms")
    latencies.sort()
    budget = CHECK_TIMEOUT + 0.15
    print(f"electrs and mempool backend hung, cache off, {requests} sequential requests")
    print(
        f"  latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms (budget {budget * 1000:.0f} ms: "
        f"{'met' if latencies[-1] <= budget else 'MISSED'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--hung-requests", type=int, default=10)
    args = parser.parse_args()
    configure_logging("console", "WARNING")  # this process only writes the test store
    print(
        f"machine: {os.cpu_count()} cores; one daphne process; HEALTH_CHECK_TIMEOUT={CHECK_TIMEOUT:g}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-health-") as tmp:
        workdir = Path(tmp)
        complete_store(workdir / "prices.duckdb")
        for log_level in ("INFO", "WARNING"):
            warm_cache(workdir, args.seconds, args.clients, args.connections, log_level)
        hung_upstreams(workdir, args.hung_requests)


if __name__ == "__main__":
    main()
