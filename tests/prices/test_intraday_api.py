"""A day with its blocks, the price at a moment, the day's price cloud and today's provisional
price, through Django's request handling; the cloud of a day computed from the simulated chain is
checked against the prices the chain planted."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pytest
from django.test import Client

from prices import selectors
from prices.ingestion import PriceIngestion
from prices.store import (
    SNAPSHOT_POINTER,
    BlockRecord,
    migrate,
    open_writer,
    snapshot_dir,
)
from prices.utxoracle.cloud import PRICE_BINS, TIME_BINS
from simulators.chain import SimulatorServer
from tests.prices.builders import block_records, day_record, provisional_record
from tests.prices.openapi_check import check_response
from tests.prices.upstreams import MempoolStub

DAY = date(2025, 1, 1)
MIDNIGHT = int(datetime.combine(DAY, time(), UTC).timestamp())


def get(client: Client, url: str, documented: str, **params: str):
    response = client.get(url, params)
    return response, check_response(documented, response)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def two_days(store_file: Path) -> None:
    """DAY - 1 and DAY, three blocks each (00:05, 00:15 without price points, 00:25)."""
    with open_writer() as writer:
        for day, first in ((DAY - timedelta(days=1), 869_856), (DAY, 870_000)):
            writer.save_day(day_record(day), block_records(day, 3, first))


def test_a_day_comes_with_its_blocks_in_json_and_csv(client: Client, two_days: None) -> None:
    response, body = get(client, f"/api/prices/{DAY}", "/api/prices/{date}")
    assert response.status_code == 200
    assert body["timestamp"] == DAY.isoformat() and body["utxoracle_price"] == 63_000.0
    assert body["has_cloud"] is False
    assert body["blocks"] == [
        {
            "height": 870_000,
            "time": "2025-01-01T00:05:00.000Z",
            "unix_time": MIDNIGHT + 300,
            "median_price": 63_000.0,
            "price_points": 10,
        },
        {
            "height": 870_001,
            "time": "2025-01-01T00:15:00.000Z",
            "unix_time": MIDNIGHT + 900,
            "median_price": None,
            "price_points": 0,
        },
        {
            "height": 870_002,
            "time": "2025-01-01T00:25:00.000Z",
            "unix_time": MIDNIGHT + 1500,
            "median_price": 63_002.0,
            "price_points": 12,
        },
    ]
    response, text = get(client, f"/api/prices/{DAY}", "/api/prices/{date}", format="csv")
    assert response["Content-Disposition"] == f'attachment; filename="blocks-{DAY}.csv"'
    rows = csv_rows(text)
    assert [row["height"] for row in rows] == ["870000", "870001", "870002"]
    assert rows[1] == {
        "height": "870001",
        "time": "2025-01-01T00:15:00.000Z",
        "unix_time": str(MIDNIGHT + 900),
        "median_price": "",
        "price_points": "0",
    }


@pytest.mark.parametrize(
    ("url", "documented"),
    [
        ("/api/prices/2025-01-02", "/api/prices/{date}"),
        ("/api/prices/2025-01-02/cloud", "/api/prices/{date}/cloud"),
    ],
)
def test_a_day_that_is_not_stored_is_404(
    client: Client, two_days: None, url: str, documented: str
) -> None:
    response, body = get(client, url, documented)
    assert response.status_code == 404
    assert body.pop("correlation_id") == response["X-Correlation-ID"]
    assert body == {"error": "not_found", "detail": "No price is stored for 2025-01-02."}


@pytest.mark.parametrize("url", ["/api/prices/2025-02-30", "/api/prices/2025-13-01/cloud"])
def test_an_impossible_date_is_400(client: Client, store_file: Path, url: str) -> None:
    documented = "/api/prices/{date}/cloud" if url.endswith("cloud") else "/api/prices/{date}"
    response, body = get(client, url, documented)
    assert response.status_code == 400
    assert body["error"] == "invalid_parameter" and set(body["parameters"]) == {"date"}


def test_a_path_that_is_not_a_date_is_an_unknown_path(client: Client, store_file: Path) -> None:
    response = client.get("/api/prices/yesterday")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_a_day_computed_before_clouds_were_kept_says_so(client: Client, two_days: None) -> None:
    response, body = get(client, f"/api/prices/{DAY}/cloud", "/api/prices/{date}/cloud")
    assert response.status_code == 404
    assert body["detail"] == (
        "2025-01-01 was computed before price clouds were kept: recompute it"
        " (backfill_prices --from 2025-01-01 --to 2025-01-01 --force) to get one."
    )


def at(client: Client, moment: int, **params: str):
    return get(client, "/api/prices/at", "/api/prices/at", timestamp=str(moment), **params)


def test_the_price_at_a_moment_is_the_latest_priced_block_before_it(
    client: Client, two_days: None
) -> None:
    response, body = at(client, MIDNIGHT + 300)
    assert response.status_code == 200
    assert body == {
        "timestamp": MIDNIGHT + 300,
        "date": "2025-01-01",
        "height": 870_000,
        "time": "2025-01-01T00:05:00.000Z",
        "unix_time": MIDNIGHT + 300,
        "median_price": 63_000.0,
        "price_points": 10,
        "day_price": 63_000.0,
        "is_valid": True,
    }
    # 00:20: the block of 00:15 has no price points, so the one of 00:05 is in force
    assert at(client, MIDNIGHT + 1200)[1]["height"] == 870_000
    assert at(client, MIDNIGHT + 86_399)[1]["height"] == 870_002
    # the first minutes of a day: the day before's last priced block
    before = at(client, MIDNIGHT + 60)[1]
    assert (before["height"], before["date"]) == (869_858, "2024-12-31")
    response, text = at(client, MIDNIGHT + 1500, format="csv")
    assert csv_rows(text) == [
        {
            "timestamp": str(MIDNIGHT + 1500),
            "date": "2025-01-01",
            "height": "870002",
            "time": "2025-01-01T00:25:00.000Z",
            "unix_time": str(MIDNIGHT + 1500),
            "median_price": "63002.0",
            "price_points": "12",
            "day_price": "63000.0",
            "is_valid": "true",
        }
    ]


@pytest.mark.parametrize("moment", [MIDNIGHT + 86_400, MIDNIGHT - 2 * 86_400, 0])
def test_a_moment_outside_the_stored_days_is_404(
    client: Client, two_days: None, moment: int
) -> None:
    response, body = at(client, moment)
    assert response.status_code == 404
    assert "that day is not in the series" in body["detail"]


def test_a_moment_before_the_first_priced_block_of_the_first_day_is_404(
    client: Client, store_file: Path
) -> None:
    with open_writer() as writer:
        writer.save_day(day_record(DAY), block_records(DAY, 3))
    assert at(client, MIDNIGHT + 60)[0].status_code == 404


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({}, "must be given: a moment as unix seconds"),
        ({"timestamp": "soon"}, "must be an integer from 0 to 253402300799 (got 'soon')"),
        ({"timestamp": "-5"}, "must be an integer from 0 to 253402300799 (got '-5')"),
        ({"timestamp": "999999999999"}, "must be an integer from 0 to 253402300799"),
    ],
)
def test_a_bad_timestamp_is_400(client: Client, store_file: Path, query, problem: str) -> None:
    response, body = get(client, "/api/prices/at", "/api/prices/at", **query)
    assert response.status_code == 400
    assert body["parameters"]["timestamp"].startswith(problem)


def today_answer(client: Client):
    return get(client, "/api/prices/today", "/api/prices/today")


def test_today_is_the_provisional_row_of_the_current_day(
    client: Client, store_file: Path, settings
) -> None:
    today = selectors.utc_today()
    settings.PRICE_TODAY_MIN_BLOCKS = 12
    response, body = today_answer(client)
    assert response.status_code == 404
    assert f"no block of {today} has been seen" in body["detail"]

    with open_writer() as writer:
        assert writer.save_provisional(provisional_record(today, 5, price=None))
    response, body = today_answer(client)
    assert response.status_code == 404
    assert body["detail"] == (
        f"Today's price is not formed yet: 5 block(s) of {today} so far; it is shown from 12."
    )

    with open_writer() as writer:
        writer.save_provisional(provisional_record(today, 21))
    response, body = today_answer(client)
    assert response.status_code == 200
    assert body == {
        "date": today.isoformat(),
        "provisional": True,
        "price": 64_321.5,
        "block_count": 21,
        "block_first": 900_000,
        "block_last": 900_020,
        "last_block_time": f"{today}T03:25:00.000Z",
        "output_count": 4_000,
        "price_point_count": 900,
        "deviation": 0.1,
        "confidence": 0.54,
        "is_valid": True,
        "invalid_reason": None,
        "source": "esplora",
        "algorithm": "utxoracle-9.1",
        "computed_at": f"{today}T03:26:00.000Z",
    }


def test_the_provisional_day_stays_out_of_the_series_until_its_final_row_replaces_it(
    client: Client, store_file: Path
) -> None:
    today = selectors.utc_today()
    yesterday = today - timedelta(days=1)
    with open_writer() as writer:
        writer.save_provisional(provisional_record(yesterday, 140))
    assert get(client, "/api/prices/historical", "/api/prices/historical", days="3")[1] == []
    gaps = get(client, "/api/prices/gaps", "/api/prices/gaps", days="3")[1]
    assert gaps["missing_dates"] == [str(today - timedelta(days=n)) for n in (3, 2, 1)]
    comparison = get(client, "/api/prices/comparison", "/api/prices/comparison", days="3")[1]
    assert comparison["total_entries"] == 0
    assert get(client, "/api/prices/latest", "/api/prices/latest")[0].status_code == 404
    assert selectors.provisional_record().date == yesterday
    # yesterday was the current day when it was written; today it is not
    assert today_answer(client)[0].status_code == 404

    with open_writer() as writer:
        writer.save_day(day_record(yesterday), [])
        assert not writer.save_provisional(provisional_record(yesterday, 144))
    assert selectors.provisional_record() is None


def test_a_new_provisional_day_replaces_the_previous_one(store_file: Path) -> None:
    today = selectors.utc_today()
    with open_writer() as writer:
        writer.save_provisional(provisional_record(today - timedelta(days=1), 143))
        writer.save_provisional(provisional_record(today, 1, price=None))
    assert selectors.provisional_record() == provisional_record(today, 1, price=None)


def test_a_store_of_schema_version_1_keeps_its_days_without_clouds(
    client: Client, store_file: Path
) -> None:
    import duckdb

    from prices.store import MIGRATIONS

    store_file.parent.mkdir(parents=True)
    with duckdb.connect(str(store_file)) as conn:
        conn.execute(MIGRATIONS[0])
        conn.execute("INSERT INTO schema_version VALUES (1, now())")
        conn.execute(
            "INSERT INTO daily_prices VALUES (?, 63000, NULL, NULL, NULL, 0.9, 0.05, 20000, 3000,"
            " 870000, 870143, true, NULL, 'utxoracle-9.1', 'esplora', now())",
            [DAY],
        )
    assert migrate() == [2]
    assert selectors.day_record(DAY).utxoracle_price == 63_000.0
    assert selectors.cloud_of_day(DAY) is None
    response, body = get(client, f"/api/prices/{DAY}/cloud", "/api/prices/{date}/cloud")
    assert response.status_code == 404 and "before price clouds were kept" in body["detail"]


def test_a_computed_day_has_the_cloud_the_chain_planted(
    client: Client, store_file: Path, chain: SimulatorServer, mempool: MempoolStub
) -> None:
    simulated = chain.chain
    day = simulated.days[0]
    PriceIngestion(workers=1).compute_and_save(day)
    record = selectors.day_record(day)
    stored = selectors.cloud_of_day(day)
    assert len(stored.counts) <= 200 * 1024

    response, body = get(client, f"/api/prices/{day}", "/api/prices/{date}")
    assert body["has_cloud"] is True
    response, cloud = get(client, f"/api/prices/{day}/cloud", "/api/prices/{date}/cloud")
    assert response.status_code == 200
    midnight = int(datetime.combine(day, time(), UTC).timestamp())
    assert (cloud["start_unix"], cloud["seconds_per_bin"]) == (midnight, 360)
    assert (cloud["time_bins"], cloud["price_bins"]) == (TIME_BINS, PRICE_BINS)
    assert cloud["price"] == record.utxoracle_price
    span = (cloud["price_high"] - cloud["price_low"]) / 2
    assert cloud["price_low"] + span == pytest.approx(record.utxoracle_price)
    assert 0.05 <= span / record.utxoracle_price <= 0.2
    counts = np.array(cloud["counts"])
    assert counts.shape == (TIME_BINS, PRICE_BINS)
    assert counts.sum() == cloud["point_count"] == stored.point_count
    # more points than the final ±5 % window holds: the chart shows the wider range
    assert cloud["point_count"] >= record.price_point_count

    # The chain's price drifts through the day; the cloud's median of every four hours follows
    # the price planted for the block in the middle of those hours (to 0.1 %).
    prices = cloud["price_low"] + (np.arange(PRICE_BINS) + 0.5) * cloud["price_step"]
    blocks: list[BlockRecord] = selectors.blocks_of_day(day)
    for hour in range(0, 24, 4):
        window = counts[hour * 10 : (hour + 4) * 10].sum(axis=0)
        assert window.sum() > 0
        median = np.median(np.repeat(prices, window))
        middle = next(b for b in blocks if b.block_time.hour == hour + 2)
        assert median == pytest.approx(simulated.price_at(middle.height), rel=0.001)


@pytest.mark.parametrize(
    ("url", "documented"),
    [
        ("/api/prices/today", "/api/prices/today"),
        ("/api/prices/at?timestamp=1735689900", "/api/prices/at"),
        ("/api/prices/2025-01-01", "/api/prices/{date}"),
        ("/api/prices/2025-01-01/cloud", "/api/prices/{date}/cloud"),
    ],
)
def test_an_unreadable_store_is_503_json(
    client: Client, store_file: Path, url: str, documented: str
) -> None:
    migrate()
    directory = snapshot_dir(store_file)
    (directory / "5.duckdb").write_bytes(b"\0" * 5000)
    (directory / SNAPSHOT_POINTER).write_text("5.duckdb")
    response = client.get(url)
    assert response.status_code == 503
    assert check_response(documented, response)["detail"].startswith("Database connection failed")
