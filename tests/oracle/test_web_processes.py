"""`make run WEB_PROCESSES=N` runs scripts/web.py: N daphne processes answer on one port, and
SIGINT or SIGTERM stops them all, also when the launcher inherited SIGINT ignored (as a job of a
non-interactive shell does)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import PYTHON, ROOT, free_port, service_env, wait_for_port

DEADLINE = 60.0


class Launcher:
    def __init__(
        self, tmp_path: Path, processes: int, *, ignore_sigint: bool = False, **env: str
    ) -> None:
        self.port = free_port()
        self.log_path = tmp_path / "web.log"

        def detach() -> None:  # its own process group, as a shell job; SIGINT ignored if asked
            os.setpgrp()
            if ignore_sigint:
                signal.signal(signal.SIGINT, signal.SIG_IGN)

        self.process = subprocess.Popen(
            [PYTHON, "scripts/web.py", "--processes", str(processes), "--port", str(self.port)],
            cwd=ROOT,
            env=service_env(
                ORACLE_DATA_DIR=str(tmp_path),
                DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                **env,
            ),
            stdout=subprocess.DEVNULL,
            stderr=self.log_path.open("w"),
            preexec_fn=detach,
        )
        wait_for_port(self.port, timeout=DEADLINE, process=self.process)

    def children(self) -> set[int]:
        """The daphne pids the launcher announced."""
        deadline = time.monotonic() + DEADLINE
        while (found := re.search(r"\(pids ([\d, ]+)\)", self.log_path.read_text())) is None:
            assert time.monotonic() < deadline, self.log_path.read_text()[-2000:]
            time.sleep(0.1)
        return {int(pid) for pid in found.group(1).split(", ")}

    def pids_answering(self, wanted: int) -> set[int]:
        """Pids that served requests on the port (each on a new connection), until `wanted`."""
        seen: set[int] = set()
        deadline = time.monotonic() + DEADLINE
        while len(seen) < wanted and time.monotonic() < deadline:
            url = f"http://127.0.0.1:{self.port}/_test/pid"
            with urllib.request.urlopen(url, timeout=DEADLINE) as response:
                seen.add(json.load(response)["pid"])
        return seen

    def wait(self) -> int:
        return self.process.wait(DEADLINE)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def gone(pids: set[int]) -> bool:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        alive = set()
        for pid in pids:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            alive.add(pid)
        if not alive:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def launchers():
    started: list[Launcher] = []
    yield started
    for launcher in started:
        launcher.stop()


def test_two_processes_answer_on_one_port_and_ctrl_c_stops_them_all(tmp_path, launchers):
    launcher = Launcher(tmp_path, 2, ignore_sigint=True)
    launchers.append(launcher)
    children = launcher.children()
    assert len(children) == 2
    assert launcher.pids_answering(2) == children
    os.killpg(launcher.process.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    assert launcher.wait() == 0
    assert gone(children)


def test_every_scrape_sees_the_requests_of_every_process(tmp_path, launchers, monkeypatch):
    """The launcher gives its processes one fresh metrics directory: whichever process a scrape
    reaches, it counts the requests all of them answered; the directory goes when they stop."""
    from prometheus_client.parser import text_string_to_metric_families

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    temp = tmp_path / "tmp"
    temp.mkdir()
    launcher = Launcher(tmp_path, 2, METRICS_PUBLIC="true", TMPDIR=str(temp))
    launchers.append(launcher)
    (metrics_dir,) = temp.glob("oracle-metrics-*")
    answered: list[int] = []
    while len(set(answered)) < 2:  # until both processes answered (each on a new connection)
        url = f"http://127.0.0.1:{launcher.port}/_test/pid"
        with urllib.request.urlopen(url, timeout=DEADLINE) as response:
            answered.append(json.load(response)["pid"])
    for _ in range(4):
        url = f"http://127.0.0.1:{launcher.port}/metrics"
        with urllib.request.urlopen(url, timeout=DEADLINE) as response:
            text = response.read().decode()
        counts = [
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "oracle_http_request_duration_seconds_count"
            and sample.labels["route"] == "/_test/pid"
        ]
        assert counts == [len(answered)]
    os.killpg(launcher.process.pid, signal.SIGTERM)
    assert launcher.wait() == 0
    assert not metrics_dir.exists()


def test_sigterm_to_the_launcher_stops_every_process(tmp_path, launchers):
    launcher = Launcher(tmp_path, 2, ignore_sigint=True)
    launchers.append(launcher)
    children = launcher.children()
    launcher.process.send_signal(signal.SIGINT)  # to the launcher alone, SIGINT ignored before
    assert launcher.wait() == 0
    assert gone(children)
    launcher = Launcher(tmp_path, 2)
    launchers.append(launcher)
    children = launcher.children()
    launcher.process.terminate()
    assert launcher.wait() == 0
    assert gone(children)


def test_when_one_process_dies_the_others_are_stopped(tmp_path, launchers):
    launcher = Launcher(tmp_path, 2)
    launchers.append(launcher)
    children = launcher.children()
    victim = min(children)
    os.kill(victim, signal.SIGKILL)
    assert launcher.wait() == 1
    assert gone(children)
    assert f"web process {victim} exited" in launcher.log_path.read_text()


def test_one_process_binds_the_port_itself(tmp_path, launchers):
    launcher = Launcher(tmp_path, 1)
    launchers.append(launcher)
    assert launcher.pids_answering(1) == launcher.children()
    launcher.process.terminate()
    assert launcher.wait() == 0


def test_a_port_in_use_is_reported(tmp_path):
    busy = free_port()
    with socket.create_server(("127.0.0.1", busy)):
        done = subprocess.run(
            [PYTHON, "scripts/web.py", "--processes", "2", "--port", str(busy)],
            cwd=ROOT,
            env=service_env(),
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
    assert done.returncode == 1
    assert f"oracle: cannot serve on 127.0.0.1:{busy}" in done.stderr
