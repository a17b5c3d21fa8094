"""`manage.py oracle_price` against the loopback simulator."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import termios
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from prices.management.commands.oracle_price import ProgressBar
from prices.utxoracle.engine import RESULT_KEYS
from simulators.chain import SimulatorServer
from tests.support import PYTHON, ROOT, free_port, service_env


@pytest.fixture
def node(day_server: SimulatorServer) -> Iterator[SimulatorServer]:
    with override_settings(
        BITCOIN_RPC_URL=day_server.url,
        BITCOIN_RPC_COOKIE_FILE=day_server.cookie_file,
        ELECTRS_URL=day_server.url,
        PRICE_SOURCE=("esplora", "bitcoind"),
    ):
        yield day_server


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("oracle_price", *args, "--workers", "1", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_prints_only_the_result(node: SimulatorServer) -> None:
    out, _ = run("--date", "2025-01-01", "--json", "--source", "bitcoind")
    result = json.loads(out)
    assert tuple(result) == RESULT_KEYS
    assert result["date"] == "2025-01-01" and result["source"] == "bitcoind"
    assert result["block_count"] == 144


def test_human_summary_and_default_source(node: SimulatorServer) -> None:
    out, _ = run("--date", "2025-01-01")
    assert out.startswith("2025-01-01 price: $")
    assert "source esplora" in out and "blocks 870012-870155 (144)" in out


def test_recent_blocks(node: SimulatorServer) -> None:
    out, _ = run("--blocks", "6", "--json")
    result = json.loads(out)
    assert result["date"] is None and result["block_count"] == 6
    assert result["block_last"] == node.chain.tip - 1
    summary, _ = run("--blocks", "6")
    assert summary.startswith("last 6 blocks price: $")


def test_a_refused_date_exits_2_with_one_line(node: SimulatorServer) -> None:
    with pytest.raises(SystemExit) as caught:
        run("--date", "2025-01-09")
    assert caught.value.code == 2


def test_refusal_message(node: SimulatorServer) -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("oracle_price", "--date", "2020-01-01", stderr=err)
    assert err.getvalue() == (
        "oracle_price: date refused: 2020-01-01 is before 2023-12-15, the earliest date"
        " UTXOracle v9.1 serves\n"
    )


def test_a_failing_source_exits_1(node: SimulatorServer) -> None:
    err = io.StringIO()
    dead = f"http://127.0.0.1:{free_port()}"
    with override_settings(ELECTRS_URL=dead), pytest.raises(SystemExit) as caught:
        call_command("oracle_price", "--date", "2025-01-01", "--source", "esplora", stderr=err)
    assert caught.value.code == 1
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("oracle_price: block source esplora failed at the chain tip:")


@pytest.mark.parametrize(
    "args",
    [("--date", "01/02/2025"), ("--blocks", "0"), (), ("--date", "2025-01-01", "--blocks", "3")],
)
def test_bad_arguments_are_refused(args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        call_command("oracle_price", *args)


def test_progress_bar_renders_to_its_stream() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    for done in range(4):
        bar("blocks", done, 3)
    bar.close()
    ProgressBar(stream).close()
    assert "blocks fetched and parsed" in stream.getvalue() and "3/3" in stream.getvalue()


def test_a_terminal_gets_a_progress_bar(day_server: SimulatorServer, tmp_path) -> None:
    """The real command in a subprocess whose stderr is a pseudo-terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    env = service_env(
        BITCOIN_RPC_URL=day_server.url,
        BITCOIN_RPC_COOKIE_FILE=str(day_server.cookie_file),
        PRICE_SOURCE="bitcoind",
        LOG_LEVEL="WARNING",
    )
    process = subprocess.run(
        [PYTHON, "manage.py", "oracle_price", "--blocks", "12", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=slave,
        timeout=60,
        check=False,
    )
    os.close(slave)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        terminal += chunk
    os.close(master)
    assert process.returncode == 0
    assert json.loads(process.stdout)["block_count"] == 12
    assert b"blocks fetched and parsed" in terminal and b"12/12" in terminal
