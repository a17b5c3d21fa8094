"""Benchmark the JSON endpoints' serving speed against two references in one run (by hand).

Starts three real daphne processes on free 127.0.0.1 ports:

* `bare`: a plain ASGI app serving the service's bytes (`bench/http_reference.py`);
* `floor`: a minimal Django async view without middleware serving the same bytes: Django's floor;
* `ours`: `oracle.asgi:application` with production settings (DEBUG off, JSON logs at INFO to a
  file), a SQLite database migrated and a DuckDB store of `--days` days built in a temp folder.

Then measures each case with `wrk -t1 -c8`, alternating the servers round after round:
`/api/prices/latest`, `/health` (warm cache: its checks cached for the whole run, upstream checks
off) and `/api/prices/latest` with `If-None-Match` of its ETag (304). Prints the median requests/s
of each server and the medians of the pairwise ratios ours/floor and ours/bare of each round.

    .venv/bin/python bench/bench_http.py [--seconds 5] [--rounds 3] [--days 30]

Target: ours >= 80 % of the floor. Needs `wrk` (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import free_port, wait_for_port  # noqa: E402

PYTHON = sys.executable
SERVERS = ("bare", "floor", "ours")
# Headers the references copy from the service's answer (the rest is the service's own work).
COPIED_HEADERS = ("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Vary")
_REQUESTS_PER_SECOND = re.compile(r"Requests/sec:\s+([0-9.]+)")
_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+([0-9]+)")


@dataclass(frozen=True)
class Case:
    """One measured request: a path and its extra headers."""

    name: str
    path: str
    headers: tuple[str, ...] = ()


def require_wrk() -> str:
    """The path of wrk, or exit saying how to install it."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("bench_http: wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
    return found


def service_env(workdir: Path) -> dict[str, str]:
    """Production settings on a temp data folder; upstream checks off, the health cache warm."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oracle.settings",
        "ORACLE_DATA_DIR": str(workdir / "data"),
        "DUCKDB_PATH": str(workdir / "data" / "prices.duckdb"),
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghij",
        "DJANGO_DEBUG": "false",
        "DJANGO_HTTPS": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "HEALTH_DISABLED_CHECKS": "electrs,mempool_backend,mempool_feed,bitcoin_rpc",
        "HEALTH_CACHE_SECONDS": "3600",
        "PYTHONPATH": str(ROOT),
    }


def prepare_service(env: dict[str, str], days: int) -> None:
    """Migrate the SQLite database and publish a store of `days` valid days ending yesterday."""
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--no-input"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "ORACLE_DATA_DIR")})
    os.environ.update({k: env[k] for k in ("DUCKDB_PATH", "DJANGO_SECRET_KEY", "LOG_LEVEL")})
    import django

    django.setup()
    from tests.health.price_store import complete_store

    complete_store(Path(env["DUCKDB_PATH"]), days)


def start_server(app: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, int]:
    """daphne serving `app` on a free port, once it listens."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        wait_for_port(port, timeout=60, process=process)
    except Exception:
        process.kill()
        raise SystemExit(f"bench_http: {app} did not start: {log.read_text()[-2000:]}") from None
    return process, port


def capture(port: int, paths: list[str]) -> dict[str, dict[str, object]]:
    """The service's answer to each path: status, the copied headers and the body."""
    answers: dict[str, dict[str, object]] = {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for path in paths:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"bench_http: {path} answered {response.status}: {body[:300]!r}")
        headers = {
            name: response.headers[name] for name in COPIED_HEADERS if name in response.headers
        }
        answers[path] = {"status": response.status, "headers": headers, "body": body.decode()}
    connection.close()
    return answers


def reference_env(responses: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "http_reference",
        "BENCH_RESPONSES": str(responses),
        "PYTHONPATH": str(ROOT / "bench"),
    }


def wrk(binary: str, port: int, case: Case, seconds: float) -> float:
    """Requests/s of `wrk -t1 -c8` on the case; exits when any answer was an error."""
    command = [binary, "-t1", "-c8", f"-d{seconds:g}s"]
    for header in case.headers:
        command += ["-H", header]
    result = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{case.path}"],
        capture_output=True,
        text=True,
        check=True,
    )
    errors = _ERRORS.search(result.stdout)
    if errors:
        raise SystemExit(f"bench_http: {errors.group(1)} error answers to {case.name} on :{port}")
    found = _REQUESTS_PER_SECOND.search(result.stdout)
    if found is None:
        raise SystemExit(f"bench_http: unexpected wrk output:\n{result.stdout}")
    return float(found.group(1))


def measure(
    binary: str, ports: dict[str, int], cases: list[Case], seconds: float, rounds: int
) -> dict[str, dict[str, list[float]]]:
    """Requests/s per case and server, one figure per round; the servers' order rotates."""
    figures: dict[str, dict[str, list[float]]] = {c.name: {s: [] for s in SERVERS} for c in cases}
    for case in cases:  # warm-up: first answers, imports, caches
        for server in SERVERS:
            wrk(binary, ports[server], case, 1)
    for round_ in range(rounds):
        order = SERVERS[round_ % 3 :] + SERVERS[: round_ % 3]
        for case in cases:
            for server in order:
                rate = wrk(binary, ports[server], case, seconds)
                figures[case.name][server].append(rate)
                print(f"  round {round_ + 1} {case.name:<24} {server:<5} {rate:8.0f} req/s")
    return figures


def report(figures: dict[str, dict[str, list[float]]]) -> None:
    print("\ncase                      bare req/s  floor req/s  ours req/s  ours/floor  ours/bare")
    for name, by_server in figures.items():
        medians = {server: statistics.median(rates) for server, rates in by_server.items()}
        pairs = list(zip(by_server["ours"], by_server["floor"], by_server["bare"], strict=True))
        vs_floor = statistics.median(ours / floor for ours, floor, _ in pairs)
        vs_bare = statistics.median(ours / bare for ours, _, bare in pairs)
        print(
            f"{name:<25} {medians['bare']:10.0f} {medians['floor']:12.0f} {medians['ours']:11.0f}"
            f" {vs_floor:10.0%} {vs_bare:10.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="each wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--days", type=int, default=30, help="days in the price store")
    args = parser.parse_args()
    binary = require_wrk()
    print(f"{os.cpu_count()} cores; wrk -t1 -c8, {args.rounds} rounds of {args.seconds:g} s")
    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        workdir = Path(tmp)
        env = service_env(workdir)
        prepare_service(env, args.days)
        try:
            ours, port = start_server("oracle.asgi:application", env, workdir / "ours.log")
            processes.append(ours)
            ports = {"ours": port}
            answers = capture(port, ["/api/prices/latest", "/health"])
            responses = workdir / "responses.json"
            responses.write_text(json.dumps(answers))
            for server, app in (
                ("bare", "http_reference:bare"),
                ("floor", "http_reference:django_floor"),
            ):
                process, ports[server] = start_server(
                    app, reference_env(responses), workdir / f"{server}.log"
                )
                processes.append(process)
            cases = [Case("/api/prices/latest", "/api/prices/latest"), Case("/health", "/health")]
            etag = answers["/api/prices/latest"]["headers"].get("ETag")  # type: ignore[union-attr]
            if etag:
                cases.append(
                    Case(
                        "latest If-None-Match 304",
                        "/api/prices/latest",
                        (f"If-None-Match: {etag}",),
                    )
                )
            else:
                print("no ETag on /api/prices/latest: the conditional case is skipped")
            report(measure(binary, ports, cases, args.seconds, args.rounds))
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)


if __name__ == "__main__":
    main()
