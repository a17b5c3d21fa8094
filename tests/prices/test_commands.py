"""The price commands: migrate_prices, update_prices and backfill_prices, as real processes where
they compute days from the simulated chain."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from prices import selectors
from prices.ingestion import DayOutcome, Outcome
from prices.progress import CommandProgress
from prices.store import SCHEMA_VERSION
from prices.utxoracle.engine import EARLIEST_DATE
from simulators.chain import SimulatorServer
from tests.prices.upstreams import MempoolStub
from tests.support import start_command


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_migrate_prices_applies_the_schema_once(store_file: Path) -> None:
    out, _ = run("migrate_prices")
    assert out.strip() == f"{store_file}: applied schema version(s) 1, 2."
    out, _ = run("migrate_prices")
    assert out.strip() == f"{store_file}: schema up to date (version {SCHEMA_VERSION})."
    selectors.ping_price_store()


def test_migrate_prices_reports_an_unusable_file(store_file: Path) -> None:
    store_file.parent.mkdir(parents=True)
    store_file.write_bytes(b"garbage" * 100)
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("migrate_prices", stderr=err)
    assert exit_info.value.code == 1
    assert f"migrate_prices: cannot open {store_file}" in err.getvalue()


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2025-01-02", "2025-01-01", "--to (2025-01-01) is before --from (2025-01-02)"),
        ("2025-01-01", "2999-01-01", "--to must be a complete day"),
        ("2023-12-14", "2024-01-01", f"--from must be on or after {EARLIEST_DATE}"),
    ],
)
def test_backfill_prices_refuses_a_bad_range(
    store_file: Path, first: str, last: str, message: str
) -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("backfill_prices", "--from", first, "--to", last, stderr=err)
    assert exit_info.value.code == 2
    assert message in err.getvalue()


def test_backfill_prices_needs_dates() -> None:
    with pytest.raises(CommandError, match="not a date"):
        call_command("backfill_prices", "--from", "yesterday", "--to", "2025-01-01")


def command_env(store_file: Path, chain: SimulatorServer, mempool: MempoolStub) -> dict:
    return {
        "DUCKDB_PATH": str(store_file),
        "ELECTRS_URL": chain.url,
        "PRICE_SOURCE": "esplora",
        "MEMPOOL_URL": mempool.url,
    }


def test_backfill_prices_computes_a_range_and_resumes(
    tmp_path: Path, store_file: Path, chain: SimulatorServer, mempool: MempoolStub
) -> None:
    first, last = chain.chain.days[:2]
    env = command_env(store_file, chain, mempool)
    process = start_command(
        tmp_path, "backfill_prices", "--from", str(first), "--to", str(last), **env
    )
    out, _ = process.process.communicate(timeout=120)
    assert process.process.returncode == 0, process.log_path.read_text()[-2000:]
    lines = out.splitlines()
    assert lines[0].startswith(f"{first} valid ") and lines[1].startswith(f"{last} valid ")
    assert "[1/2 days, " in lines[0] and " blocks/s, ETA " in lines[0]
    assert lines[1].endswith(" blocks/s, ETA 0:00:00]")
    assert lines[2].startswith(f"backfill_prices {first}..{last}: 2 days; 2 computed (2 valid")
    assert [r.date for r in selectors.days_between(first, last)] == [first, last]
    saved = [e for e in process.log_lines() if e["event"] == "price_day_saved"]
    assert [e["day"] for e in saved] == [str(first), str(last)]
    assert len({e["correlation_id"] for e in saved}) == 1

    again = start_command(
        tmp_path, "backfill_prices", "--from", str(first), "--to", str(last), **env
    )
    out, _ = again.process.communicate(timeout=60)
    assert again.process.returncode == 0
    assert [line.split(" [")[0] for line in out.splitlines()[:2]] == [
        f"{first} skipped",
        f"{last} skipped",
    ]
    assert "0 computed" in out and "2 already valid" in out


def test_update_prices_computes_the_missing_days_of_the_window(
    tmp_path: Path, store_file: Path, chain: SimulatorServer, mempool: MempoolStub
) -> None:
    env = command_env(store_file, chain, mempool)
    process = start_command(tmp_path, "update_prices", PRICE_WINDOW_DAYS="1", **env)
    out, _ = process.process.communicate(timeout=120)
    assert process.process.returncode == 0, process.log_path.read_text()[-2000:]
    yesterday = selectors.utc_today() - timedelta(days=1)
    assert out.splitlines()[0].startswith(f"{yesterday} valid ")
    assert "update_prices" in out.splitlines()[-1]
    assert selectors.missing_price_dates(1) == []


def test_backfill_prices_fails_when_a_day_cannot_be_computed(
    store_file: Path, mempool: MempoolStub, settings
) -> None:
    settings.ELECTRS_URL, settings.PRICE_SOURCE = "http://127.0.0.1:9", ("esplora",)
    settings.HTTP_RETRIES = 0
    day = str(selectors.utc_today() - timedelta(days=3))
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("backfill_prices", "--from", day, "--to", day, stdout=out)
    assert exit_info.value.code == 1
    assert out.getvalue().splitlines()[0].startswith(f"{day} failed - block source esplora")


def test_update_prices_fails_when_a_day_cannot_be_computed(
    store_file: Path, mempool: MempoolStub, settings
) -> None:
    settings.ELECTRS_URL, settings.PRICE_SOURCE = "http://127.0.0.1:9", ("esplora",)
    settings.HTTP_RETRIES, settings.PRICE_WINDOW_DAYS = 0, 2
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("update_prices", stdout=out)
    assert exit_info.value.code == 1
    assert "2 failed" in out.getvalue()


def test_progress_lines_count_days_blocks_per_second_and_time_left() -> None:
    now = [0.0]
    lines: list[str] = []
    progress = CommandProgress(4, lines.append, io.StringIO(), bars=False, clock=lambda: now[0])
    for index in range(2):
        for done in range(145):
            progress.blocks("blocks", done, 144)
        now[0] += 2.0
        progress.day(DayOutcome(date(2025, 1, 1 + index), Outcome.VALID, 63_000.0, None, 2.0))
    progress.day(DayOutcome(date(2025, 1, 3), Outcome.SKIPPED))
    progress.close()
    assert lines == [
        "2025-01-01 valid 63,000.00 USD (2.0 s) [1/4 days, 72 blocks/s, ETA 0:00:06]",
        "2025-01-02 valid 63,000.00 USD (2.0 s) [2/4 days, 72 blocks/s, ETA 0:00:04]",
        "2025-01-03 skipped [3/4 days, 72 blocks/s, ETA 0:00:01]",
    ]
