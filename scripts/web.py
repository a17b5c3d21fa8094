"""Serve oracle from several daphne processes on one port, without a proxy: `make run
WEB_PROCESSES=N` runs this.

    python scripts/web.py --processes 2 --host 127.0.0.1 --port 8000 [-- DAPHNE_ARGS…]

Each process gets a listening socket of its own on HOST:PORT, bound with SO_REUSEPORT, which it
adopts with daphne's `--fd`; the kernel spreads new connections over them. One process is plain
`daphne -b HOST -p PORT`. The processes share nothing but the database and, when REDIS_URL is set,
the channel layer; without it each process's alert hub reads new alerts from the database.

Prometheus metrics of all the processes merge through one directory, PROMETHEUS_MULTIPROC_DIR
(see core/metrics.py): the launcher passes it on when the environment names one (`make run`
creates a fresh one shared with the worker), and otherwise creates a fresh empty directory for
this start and removes it at the end.

SIGINT and SIGTERM stop every process (SIGTERM to each, then SIGKILL after a grace period) and the
launcher exits 0; when one process ends by itself, the others are stopped and its status is the
launcher's. The launcher installs its own handlers, so it also stops on Ctrl-C when it was started
from a background shell that ignores SIGINT, and its children start with SIGINT at its default
(Twisted installs its SIGINT handler only then).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPLICATION = "oracle.asgi:application"
GRACE_SECONDS = 15.0
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on host:port that other sockets may share (SO_REUSEPORT)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


class Launcher:
    """The daphne processes and the stop request (set by SIGINT or SIGTERM)."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []
        self.stop_requested = False
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)

    def _request_stop(self, signum: int, frame: object) -> None:
        self.stop_requested = True

    def start(self, processes: int, host: str, port: int, extra: list[str]) -> None:
        daphne = [sys.executable, "-m", "daphne", *extra]
        for _ in range(processes):
            if processes == 1:
                command = [*daphne, "-b", host, "-p", str(port), APPLICATION]
                self.children.append(subprocess.Popen(command, cwd=ROOT))
                continue
            with listening_socket(host, port) as sock:  # the child keeps its own copy
                command = [*daphne, "--fd", str(sock.fileno()), APPLICATION]
                self.children.append(subprocess.Popen(command, cwd=ROOT, pass_fds=[sock.fileno()]))

    def watch(self) -> int:
        """Wait for a stop request (0) or for a process that ends by itself (its status)."""
        while not self.stop_requested:
            for child in self.children:
                if child.poll() is not None:
                    say(f"web process {child.pid} exited ({child.returncode}); stopping the others")
                    return child.returncode if child.returncode > 0 else 1
            time.sleep(0.2)
        return 0


def say(text: str) -> None:
    print(f"oracle: {text}", file=sys.stderr, flush=True)


def run(processes: int, host: str, port: int, extra: list[str]) -> int:
    if os.environ.get(MULTIPROC_ENV):
        return serve(processes, host, port, extra)
    metrics_dir = tempfile.mkdtemp(prefix="oracle-metrics-")
    os.environ[MULTIPROC_ENV] = metrics_dir  # inherited by every daphne process
    try:
        return serve(processes, host, port, extra)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def serve(processes: int, host: str, port: int, extra: list[str]) -> int:
    launcher = Launcher()
    try:
        launcher.start(processes, host, port, extra)
    except OSError as exc:
        say(f"cannot serve on {host}:{port}: {exc}")
        stop_all(launcher.children)
        return 1
    pids = ", ".join(str(child.pid) for child in launcher.children)
    say(f"{processes} web process(es) on http://{host}:{port}/ (pids {pids})")
    try:
        return launcher.watch()
    finally:
        stop_all(launcher.children)


def stop_all(children: list[subprocess.Popen]) -> None:
    """SIGTERM to each running child, SIGKILL to those still running after the grace period."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children:
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("daphne_args", nargs="*", help="more daphne options, after --")
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error("--processes must be 1 or more")
    if args.processes > 1 and ":" in args.host:
        parser.error("several processes share an IPv4 address only (daphne's --fd)")
    return run(args.processes, args.host, args.port, args.daphne_args)


if __name__ == "__main__":
    sys.exit(main())
