"""The worker: supervision, restarts with backoff, clean shutdown on signals."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from core.worker import Backoff, Loop, loops_from_paths, run_loops, supervise
from tests.core import loops as test_loops
from tests.support import start_command

FAST = Backoff(initial=0.01, maximum=0.04, healthy_after=60)


async def test_a_crashing_loop_is_restarted_with_growing_backoff(json_logs) -> None:
    stop = asyncio.Event()
    starts: list[float] = []

    async def flaky(stop: asyncio.Event) -> None:
        starts.append(time.monotonic())
        if len(starts) < 4:
            raise ValueError(f"crash {len(starts)}")
        stop.set()

    await asyncio.wait_for(supervise(Loop("flaky", flaky), stop, FAST), timeout=5)
    assert len(starts) == 4
    crashes = json_logs.events("loop_crashed")
    assert len(crashes) == 3
    assert all(line["loop"] == "flaky" for line in crashes)
    assert "ValueError: crash 1" in crashes[0]["exception"]
    delays = [line["delay_s"] for line in json_logs.events("loop_restart_scheduled")]
    assert delays[0] <= delays[1] <= delays[2] <= 0.04


async def test_a_loop_that_returns_early_is_restarted(json_logs) -> None:
    stop = asyncio.Event()
    runs = []

    async def quits(stop: asyncio.Event) -> None:
        runs.append(1)
        if len(runs) == 2:
            stop.set()

    await asyncio.wait_for(supervise(Loop("quits", quits), stop, FAST), timeout=5)
    assert len(runs) == 2
    assert len(json_logs.events("loop_returned_early")) == 1


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(initial=1, maximum=60)
    for attempt, ceiling in [(0, 1), (1, 2), (3, 8), (6, 60), (30, 60), (10**6, 60)]:
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1


async def test_stop_ends_every_loop_and_cancels_stubborn_ones(json_logs) -> None:
    stop = asyncio.Event()
    loops = [Loop("ticking", test_loops.ticking), Loop("stubborn", test_loops.stubborn)]
    runner = asyncio.create_task(run_loops(loops, stop, grace=0.2, backoff=FAST))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(runner, timeout=60)
    assert [line["loop"] for line in json_logs.events("loop_cancelled_after_grace")] == ["stubborn"]
    assert json_logs.events("worker_stopped")


async def test_a_worker_without_loops_idles_until_stopped(json_logs) -> None:
    stop = asyncio.Event()
    runner = asyncio.create_task(run_loops([], stop))
    await asyncio.sleep(0.05)
    assert not runner.done()
    stop.set()
    await asyncio.wait_for(runner, timeout=60)
    assert [line["event"] for line in json_logs.lines] == ["worker_started", "worker_stopped"]


def test_loops_are_named_after_their_module() -> None:
    (loop,) = loops_from_paths(["tests.core.loops.ticking"])
    assert loop.name == "loops"
    assert loop.run is test_loops.ticking


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_worker_restarts_a_crashed_loop_and_stops_on_signal(
    tmp_path: Path, signum: int
) -> None:
    counter = tmp_path / "starts"
    worker = start_command(
        tmp_path,
        "run_worker",
        ORACLE_TEST_WORKER_LOOPS="tests.core.loops.crashing",
        ORACLE_TEST_COUNTER=str(counter),
    )
    try:
        deadline = time.monotonic() + 20
        while not (counter.exists() and counter.read_text() == "2"):
            assert time.monotonic() < deadline, worker.log_path.read_text()
            assert worker.process.poll() is None, worker.log_path.read_text()
            time.sleep(0.05)
        worker.process.send_signal(signum)
        assert worker.process.wait(timeout=60) == 0
    finally:
        worker.stop()
    events = [line["event"] for line in worker.log_lines()]
    assert events.count("loop_crashed") == 1
    assert events.count("loop_started") == 2
    assert "worker_stop_requested" in events and events[-1] == "worker_stopped"
    assert "loop_cancelled_after_grace" not in events  # every loop stopped within the grace
    command_ids = {line.get("correlation_id") for line in worker.log_lines()}
    assert len(command_ids) == 1 and None not in command_ids


def test_run_worker_refuses_an_unknown_loop(tmp_path: Path) -> None:
    worker = start_command(
        tmp_path,
        "run_worker",
        "--only",
        "nope",
        ORACLE_TEST_WORKER_LOOPS="tests.core.loops.ticking",
    )
    assert worker.process.wait(timeout=30) == 2
    assert "unknown loop(s): nope (have: loops)" in worker.log_path.read_text()


def test_run_worker_only_runs_the_named_loops(tmp_path: Path) -> None:
    worker = start_command(
        tmp_path,
        "run_worker",
        "--only",
        "loops",
        ORACLE_TEST_WORKER_LOOPS="tests.core.loops.ticking",
    )
    try:
        deadline = time.monotonic() + 20
        while "tick" not in worker.log_path.read_text():
            assert time.monotonic() < deadline and worker.process.poll() is None
            time.sleep(0.05)
    finally:
        assert worker.stop() == 0
