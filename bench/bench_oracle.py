"""Benchmark `manage.py oracle_price` end to end on a synthetic day served over loopback.

Starts the chain simulator (`python -m simulators.chain --warm`, default 144 blocks of 3,000
transactions), then times `oracle_price --date … --json` through Bitcoin Core RPC and through
Esplora: wall time, the peak RSS of the largest process and the peak total PSS of the process tree
(the command and its parsing workers, sampled every 5 ms). With `--reference UTXOracle.py` it also
runs the reference program v9.1 on the same day over RPC and compares the printed price.

    python bench/bench_oracle.py [--txs-per-block 3000] [--runs 3] [--reference /path/UTXOracle.py]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DAY = "2025-01-01"


def tree_memory_kb(pid: int) -> tuple[int, int]:
    """(largest RSS, total PSS) over a process and its descendants, in kB. PSS shares the pages
    that forked workers have in common with their parent instead of counting them twice."""
    largest = total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            pss = int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))  # type: ignore[union-attr]
        except (OSError, AttributeError):
            continue
        largest = max(largest, rss)
        total += pss
        stack += [int(child) for child in children]
    return largest, total


def measure(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> dict[str, object]:
    """Run a command; return its wall time, peak RSS figures, stdout and exit status."""
    peak = {"largest": 0, "total": 0}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            largest, total = tree_memory_kb(process.pid)
            peak["largest"] = max(peak["largest"], largest)
            peak["total"] = max(peak["total"], total)
            done.wait(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(peak["largest"] / 1024),
        "peak_tree_pss_mb": round(peak["total"] / 1024),
        "stdout": stdout,
        "stderr": stderr,
        "status": process.returncode,
    }


def start_simulator(args: argparse.Namespace, cookie: Path) -> tuple[subprocess.Popen, str]:
    command = [
        PYTHON,
        "-m",
        "simulators.chain",
        "--port",
        str(args.port),
        "--seed",
        str(args.seed),
        "--price",
        str(args.price),
        "--daily-change",
        "0",
        "--txs-per-block",
        str(args.txs_per_block),
        "--cookie-file",
        str(cookie),
        "--warm",
    ]
    server = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": "."}
    )
    line = server.stdout.readline() if server.stdout else ""
    if "serving" not in line:
        server.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    return server, f"http://127.0.0.1:{args.port}"


def run_reference(script: Path, cookie: Path, port: int) -> dict[str, object]:
    """Run UTXOracle.py v9.1 on the day over RPC; it reads bitcoin.conf from a data directory."""
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as work:
        conf = f"rpcconnect=127.0.0.1\nrpcport={port}\nrpccookiefile={cookie}\n"
        Path(data, "bitcoin.conf").write_text(conf)
        env = {**os.environ, "BROWSER": "true"}
        command = [PYTHON, str(script), "-p", data, "-d", DAY.replace("-", "/")]
        result = measure(command, env, Path(work))  # it writes an HTML chart into its cwd
    printed = re.search(r"price: \$([\d,]+)", str(result["stdout"]))
    result["price_rounded"] = int(printed.group(1).replace(",", "")) if printed else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--txs-per-block", type=int, default=3000)
    parser.add_argument("--price", type=float, default=63_000.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=18_553)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--reference", type=Path, default=None, help="path of UTXOracle.py v9.1")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cookie = Path(tmp, "cookie")
        print(
            f"warming the simulator: 144 blocks x {args.txs_per_block} transactions …", flush=True
        )
        server, url = start_simulator(args, cookie)
        try:
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "oracle.settings",
                "ORACLE_DATA_DIR": tmp,
                "LOG_LEVEL": "WARNING",
                "ELECTRS_URL": url,
                "BITCOIN_RPC_URL": url,
                "BITCOIN_RPC_COOKIE_FILE": str(cookie),
            }
            results: dict[str, dict[str, object]] = {}
            for source in ("bitcoind", "esplora"):
                command = [PYTHON, "manage.py", "oracle_price", "--date", DAY, "--json"]
                command += ["--source", source]
                if args.workers is not None:
                    command += ["--workers", str(args.workers)]
                runs = [measure(command, env) for _ in range(args.runs)]
                failed = [run for run in runs if run["status"] != 0]
                if failed:
                    raise SystemExit(f"oracle_price failed: {failed[0]['stderr']}")
                best = min(runs, key=lambda run: float(run["wall_s"]))  # type: ignore[arg-type]
                best["walls"] = [run["wall_s"] for run in runs]
                best["result"] = json.loads(str(best["stdout"]))
                results[source] = best
            reference = run_reference(args.reference, cookie, args.port) if args.reference else None
        finally:
            server.terminate()
            server.wait()

    rpc, esplora = results["bitcoind"], results["esplora"]
    print(f"\nday {DAY}, 144 blocks x {args.txs_per_block} tx, {os.cpu_count()} cores")
    for name, run in (("RPC", rpc), ("Esplora", esplora)):
        result = run["result"]
        assert isinstance(result, dict)
        print(
            f"{name:8} wall {run['wall_s']} s (runs: {run['walls']}), CPU {run['cpu_s']} s,"
            f" peak RSS {run['peak_rss_mb']} MB"
            f" (whole process tree, PSS: {run['peak_tree_pss_mb']} MB), price {result['price']:.2f},"
            f" outputs {result['output_count']}, engine {result['elapsed_s']} s"
        )
    same = {k: v for k, v in rpc["result"].items() if k not in ("source", "elapsed_s")} == {  # type: ignore[union-attr]
        k: v
        for k, v in esplora["result"].items()  # type: ignore[union-attr]
        if k not in ("source", "elapsed_s")
    }
    print(f"RPC and Esplora results identical: {same}")
    if reference:
        print(
            f"reference wall {reference['wall_s']} s, CPU {reference['cpu_s']} s,"
            f" peak RSS {reference['peak_rss_mb']} MB,"
            f" printed ${reference['price_rounded']}"
        )


if __name__ == "__main__":
    main()
