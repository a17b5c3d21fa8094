"""One writer at a time, many readers: two real writer processes backfill the same days (so they
contend for DuckDB's write lock) while four clients read through a real daphne process. Every
read must succeed and both writers must finish every day."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import requests

from prices import selectors
from prices.store import open_writer
from simulators.chain import SimulatorServer
from tests.prices.builders import day_record
from tests.prices.upstreams import MempoolStub
from tests.support import start_command, start_daphne

READERS = 4


def _read_until(stop: threading.Event, base: str, first: str, last: str, seen: dict) -> None:
    paths = [
        "/api/prices/latest",
        "/api/prices/historical?days=30",
        f"/api/prices/historical?start={first}&end={last}&format=csv",
        "/api/prices/comparison?days=30",
        "/api/prices/gaps?days=30",
    ]
    with requests.Session() as session:
        while not stop.is_set():
            for path in paths:
                try:
                    response = session.get(base + path, timeout=10)
                except requests.RequestException as exc:
                    seen["errors"].append(f"{path}: {exc}")
                    continue
                seen["statuses"][response.status_code] += 1
                if response.status_code != 200:
                    seen["errors"].append(f"{path}: {response.status_code} {response.text[:200]}")
                elif path == "/api/prices/historical?days=30":
                    seen["row_counts"].add(len(response.json()))


def test_readers_never_fail_while_two_writers_backfill(
    tmp_path: Path, store_file: Path, chain: SimulatorServer, mempool: MempoolStub
) -> None:
    days = chain.chain.days
    with open_writer() as writer:  # one older day, so that `latest` always has an answer
        writer.save_day(day_record(days[0] - timedelta(days=1)), [])
    env = {
        "DUCKDB_PATH": str(store_file),
        "ELECTRS_URL": chain.url,
        "PRICE_SOURCE": "esplora",
        "MEMPOOL_URL": mempool.url,
    }
    web = start_daphne(tmp_path, **env)
    stop = threading.Event()
    seen: dict = {"statuses": Counter(), "errors": [], "row_counts": set()}
    readers = [
        threading.Thread(
            target=_read_until, args=(stop, web.url, str(days[0]), str(days[-1]), seen)
        )
        for _ in range(READERS)
    ]
    for reader in readers:
        reader.start()
    writers = []
    try:
        for name, extra in (("plain", ()), ("forced", ("--force",))):
            folder = tmp_path / name
            folder.mkdir()
            writers.append(
                start_command(
                    folder,
                    "backfill_prices",
                    "--from",
                    str(days[0]),
                    "--to",
                    str(days[-1]),
                    *extra,
                    **env,
                )
            )
        outputs = [writer.process.communicate(timeout=240)[0] for writer in writers]
    finally:
        stop.set()
        for reader in readers:
            reader.join(30)
        for writer in writers:
            writer.stop()
        web.stop()

    assert seen["errors"] == []
    assert sum(seen["statuses"].values()) >= 100
    assert min(seen["row_counts"]) < len(days) + 1 == max(seen["row_counts"])  # writes showed up
    for writer, output in zip(writers, outputs, strict=True):
        assert writer.process.returncode == 0, writer.log_path.read_text()[-2000:]
        assert " 0 failed" in output.splitlines()[-1]
    assert selectors.missing_price_dates(len(days), today=days[-1] + timedelta(days=1)) == []
    assert not [line for line in web.log_lines() if line["level"] in ("error", "critical")]
