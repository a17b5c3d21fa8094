"""Benchmark `manage.py oracle_price` end to end on a synthetic day served over loopback, side by
side with the reference program.

Starts the chain simulator (`python -m simulators.chain --warm --rest`, default 144 blocks of 3,000
transactions; `--no-rest` leaves Core's REST interface off, so that blocks come through RPC), then
runs rounds: `oracle_price --date … --json` through Bitcoin Core (blocks by REST when on), the
reference UTXOracle.py v9.1 on the same day over RPC (with `--reference PATH`), and
`oracle_price` through Esplora. Each run is timed as a whole process: wall time, CPU of the
process and its children, the peak RSS of the largest process and the peak total PSS of the
process tree. Alternating the programs run by run keeps a drift of the machine's speed out of
their ratio; the figures are medians over the rounds. The start-up alone (`oracle_price` on a date
it refuses at once) is timed too, and the load average is printed before and after: quote figures
from a quiet machine.

    python bench/bench_oracle.py [--txs-per-block 3000] [--runs 3] [--reference /path/UTXOracle.py]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DAY = "2025-01-01"
REFUSED_DAY = "2020-01-01"  # before the earliest servable date: refused before any block is read


def tree_pss_kb(pid: int) -> int:
    """Total PSS of a process and its descendants, in kB: pages that forked workers share with
    their parent are divided among them instead of being counted twice."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            total += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))  # type: ignore[union-attr]
        except (OSError, AttributeError):
            continue
        stack += [int(child) for child in children]
    return total


def measure(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> dict[str, object]:
    """Run a command; return its wall time, CPU time (with its children), the peak RSS of its
    largest process (the kernel's own figure), the peak total PSS of its process tree (sampled
    every 50 ms: reading a process's PSS costs milliseconds, sampled often it would slow the
    program measured), its output and exit status."""
    peak_pss = 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_pss
            while not done.wait(0.05):
                peak_pss = max(peak_pss, tree_pss_kb(process.pid))

        sampler = threading.Thread(target=sample)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "peak_tree_pss_mb": peak_pss / 1024,
        "stdout": stdout,
        "stderr": stderr,
        "status": process.returncode,
    }


def compile_bytecode() -> None:
    """Write the bytecode of every package of the project (what `pip install` does)."""
    for package in sorted(ROOT.glob("*/__init__.py")):
        compileall.compile_dir(package.parent, quiet=1)


def start_simulator(args: argparse.Namespace, cookie: Path) -> subprocess.Popen:
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
        *([] if args.no_rest else ["--rest"]),
    ]
    server = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": "."}
    )
    line = server.stdout.readline() if server.stdout else ""
    if "serving" not in line:
        server.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    return server


class Programs:
    """The commands under test, each run once per call, with what they printed checked."""

    def __init__(self, args: argparse.Namespace, url: str, cookie: Path, folder: Path) -> None:
        self.args = args
        self.cookie = cookie
        self.folder = folder
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "oracle.settings",
            "ORACLE_DATA_DIR": str(folder),
            "LOG_LEVEL": "WARNING",
            "ELECTRS_URL": url,
            "BITCOIN_RPC_URL": url,
            "BITCOIN_RPC_COOKIE_FILE": str(cookie),
        }

    def ours(self, source: str, day: str = DAY) -> dict[str, object]:
        command = [PYTHON, "manage.py", "oracle_price", "--date", day, "--json", "--source", source]
        if self.args.workers is not None:
            command += ["--workers", str(self.args.workers)]
        run = measure(command, self.env)
        if day == DAY:
            if run["status"] != 0:
                raise SystemExit(f"oracle_price failed: {run['stderr']}")
            run["result"] = json.loads(str(run["stdout"]))
        return run

    def reference(self) -> dict[str, object]:
        """UTXOracle.py v9.1 on the day over RPC; it reads bitcoin.conf from a data directory and
        writes an HTML chart into its working directory."""
        data, work = self.folder / "bitcoin", self.folder / "reference"
        data.mkdir(exist_ok=True)
        work.mkdir(exist_ok=True)
        conf = f"rpcconnect=127.0.0.1\nrpcport={self.args.port}\nrpccookiefile={self.cookie}\n"
        (data / "bitcoin.conf").write_text(conf)
        command = [PYTHON, str(self.args.reference), "-p", str(data), "-d", DAY.replace("-", "/")]
        run = measure(command, {**os.environ, "BROWSER": "true"}, work)
        printed = re.search(r"price: \$([\d,]+)", str(run["stdout"]))
        if run["status"] != 0 or not printed:
            raise SystemExit(f"the reference failed: {str(run['stderr'])[-2000:]}")
        run["price_rounded"] = int(printed.group(1).replace(",", ""))
        return run


def median(runs: list[dict[str, object]], key: str) -> float:
    return statistics.median(float(run[key]) for run in runs)  # type: ignore[arg-type]


def summary(name: str, runs: list[dict[str, object]]) -> str:
    walls = ", ".join(f"{float(run['wall_s']):.2f}" for run in runs)  # type: ignore[arg-type]
    return (
        f"{name:22} wall {median(runs, 'wall_s'):6.2f} s (runs: {walls}),"
        f" CPU {median(runs, 'cpu_s'):6.2f} s, largest process {median(runs, 'peak_rss_mb'):.0f} MB,"
        f" process tree {median(runs, 'peak_tree_pss_mb'):.0f} MB PSS"
    )


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--txs-per-block", type=int, default=3000)
    parser.add_argument("--price", type=float, default=63_000.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=18_553)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--no-esplora", action="store_true", help="time RPC only")
    parser.add_argument(
        "--no-rest",
        action="store_true",
        help="the simulated node without Core's REST interface (blocks then come through RPC)",
    )
    parser.add_argument("--reference", type=Path, default=None, help="path of UTXOracle.py v9.1")
    args = parser.parse_args()

    rpc: list[dict[str, object]] = []
    esplora: list[dict[str, object]] = []
    reference: list[dict[str, object]] = []
    startup: list[dict[str, object]] = []
    compile_bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        cookie = Path(tmp, "cookie")
        print(
            f"warming the simulator: 144 blocks x {args.txs_per_block} transactions …", flush=True
        )
        server = start_simulator(args, cookie)
        try:
            programs = Programs(args, f"http://127.0.0.1:{args.port}", cookie, Path(tmp))
            print(f"load average before: {load()}", flush=True)
            for index in range(args.runs):
                rpc.append(programs.ours("bitcoind"))
                if args.reference:
                    reference.append(programs.reference())
                if not args.no_esplora:
                    esplora.append(programs.ours("esplora"))
                startup.append(programs.ours("bitcoind", REFUSED_DAY))
                print(f"round {index + 1} of {args.runs} done", flush=True)
            print(f"load average after: {load()}")
        finally:
            server.terminate()
            server.wait()

    result = rpc[0]["result"]
    assert isinstance(result, dict)
    print(
        f"\nday {DAY}, 144 blocks x {args.txs_per_block} tx, {result['output_count']} outputs,"
        f" {os.cpu_count()} cores; medians of {args.runs} alternating runs"
    )
    engine = statistics.median(float(run["result"]["elapsed_s"]) for run in rpc)  # type: ignore[index]
    print(summary("oracle_price, RPC", rpc) + f", engine {engine:.2f} s")
    same = True
    if esplora:
        print(summary("oracle_price, Esplora", esplora))
        same = all(
            {k: v for k, v in run["result"].items() if k not in ("source", "elapsed_s")}  # type: ignore[union-attr]
            == {k: v for k, v in result.items() if k not in ("source", "elapsed_s")}
            for run in rpc + esplora
        )
    print(summary("start-up (date refused)", startup))
    print(f"price {result['price']:.2f}; every run of ours gave the same result: {same}")
    if reference:
        print(summary("reference v9.1, RPC", reference))
        printed = {int(run["price_rounded"]) for run in reference}  # type: ignore[arg-type]
        ours_wall, theirs_wall = median(rpc, "wall_s"), median(reference, "wall_s")
        print(
            f"reference printed {sorted(printed)}, ours {result['price_rounded']}:"
            f" {'same' if printed == {result['price_rounded']} else 'DIFFERENT'}"
        )
        print(
            f"ratio of medians (reference / ours, RPC): wall {theirs_wall / ours_wall:.1f}x,"
            f" CPU {median(reference, 'cpu_s') / median(rpc, 'cpu_s'):.1f}x;"
            f" start-up is {median(startup, 'wall_s') / ours_wall:.0%} of our wall time"
        )


if __name__ == "__main__":
    main()
