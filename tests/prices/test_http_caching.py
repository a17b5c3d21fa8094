"""HTTP caching of the price API: validators that follow the store, 304s, freshness, CSV too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils.http import http_date, parse_http_date

from prices import caching
from prices.selectors import utc_today
from prices.store import open_writer
from tests.prices.builders import block_records, day_record, provisional_record
from tests.prices.openapi_check import check_response, documented_response

LATEST = "/api/prices/latest"
CSV_WEEK = "/api/prices/historical?days=7&format=csv"


def save(day: date, price: float = 63_000.0, **overrides) -> None:
    with open_writer() as writer:
        writer.save_day(day_record(day, price, **overrides), block_records(day, 2))


@pytest.fixture
def week(store_file: Path) -> Path:
    for days in range(2, 9):
        save(utc_today() - timedelta(days=days), 60_000.0 + days)
    return store_file


def test_a_price_answer_carries_validators_and_public_freshness(client: Client, week) -> None:
    response = client.get(LATEST)
    check_response(LATEST, response)
    assert response["ETag"].startswith('"') and response["ETag"].endswith('"')
    assert response["Last-Modified"].endswith(" GMT")
    public, age = response["Cache-Control"].split(", max-age=")
    assert public == "public" and caching.MIN_AGE <= int(age) <= caching.MAX_AGE


def test_if_none_match_with_the_current_etag_is_304_with_an_empty_body(
    client: Client, week
) -> None:
    first = client.get(LATEST)
    again = client.get(LATEST, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    for header in ("ETag", "Last-Modified", "Cache-Control"):
        assert again[header] == first[header]
    assert again["X-Correlation-ID"]
    documented_response(LATEST, 304)  # the OpenAPI document describes it
    listed = client.get(LATEST, headers={"If-None-Match": f'"other", {first["ETag"]}'})
    assert listed.status_code == 304
    assert client.get(LATEST, headers={"If-None-Match": "*"}).status_code == 304
    assert client.head(LATEST, headers={"If-None-Match": first["ETag"]}).status_code == 304
    assert client.get(LATEST, headers={"If-None-Match": '"other"'}).status_code == 200


def test_if_modified_since_is_304_until_the_store_changes(client: Client, week) -> None:
    first = client.get(LATEST)
    since = client.get(LATEST, headers={"If-Modified-Since": first["Last-Modified"]})
    assert since.status_code == 304 and since.content == b""
    earlier = http_date(datetime(2020, 1, 1, tzinfo=UTC).timestamp())
    assert client.get(LATEST, headers={"If-Modified-Since": earlier}).status_code == 200
    assert client.get(LATEST, headers={"If-Modified-Since": "soon"}).status_code == 200


def test_if_none_match_wins_over_if_modified_since(client: Client, week) -> None:
    first = client.get(LATEST)
    stale_tag = client.get(
        LATEST,
        headers={"If-None-Match": '"other"', "If-Modified-Since": first["Last-Modified"]},
    )
    assert stale_tag.status_code == 200 and stale_tag.content == first.content
    old_date = http_date(datetime(2020, 1, 1, tzinfo=UTC).timestamp())
    current_tag = client.get(
        LATEST, headers={"If-None-Match": first["ETag"], "If-Modified-Since": old_date}
    )
    assert current_tag.status_code == 304


def test_a_new_day_changes_the_validators(client: Client, week) -> None:
    first = client.get(LATEST)
    save(utc_today() - timedelta(days=1), 64_000.0)
    after = client.get(LATEST, headers={"If-None-Match": first["ETag"]})
    assert after.status_code == 200 and after.json()["timestamp"] == str(
        utc_today() - timedelta(days=1)
    )
    assert after["ETag"] != first["ETag"]
    assert parse_http_date(after["Last-Modified"]) >= parse_http_date(first["Last-Modified"])


def test_a_recomputed_day_changes_the_etag_even_with_the_same_price(client: Client, week) -> None:
    day = utc_today() - timedelta(days=5)
    first = client.get(f"/api/prices/{day}")
    same = client.get(f"/api/prices/{day}")
    assert same["ETag"] == first["ETag"]
    save(day, 60_005.0, computed_at=datetime(2025, 1, 3, 1, 0))  # the same price, recomputed
    again = client.get(f"/api/prices/{day}", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 200 and again.content == first.content
    assert again["ETag"] != first["ETag"]


def test_a_late_exchange_price_changes_the_etag_of_the_answers_showing_it(
    client: Client, week
) -> None:
    first = client.get("/api/prices/historical?days=7")
    with open_writer() as writer:
        writer.set_exchange_price(utc_today() - timedelta(days=3), 70_000.0)
    after = client.get("/api/prices/historical?days=7", headers={"If-None-Match": first["ETag"]})
    assert after.status_code == 200 and after["ETag"] != first["ETag"]


def test_csv_answers_are_validated_too(client: Client, week) -> None:
    csv_answer = client.get(CSV_WEEK)
    json_answer = client.get("/api/prices/historical?days=7")
    assert csv_answer["Content-Type"].startswith("text/csv")
    assert csv_answer["ETag"] != json_answer["ETag"]
    assert csv_answer["Cache-Control"].startswith("public, max-age=")
    again = client.get(CSV_WEEK, headers={"If-None-Match": csv_answer["ETag"]})
    assert again.status_code == 304 and again.content == b""
    day = utc_today() - timedelta(days=4)
    blocks = client.get(f"/api/prices/{day}?format=csv")
    assert (
        client.get(
            f"/api/prices/{day}?format=csv", headers={"If-None-Match": blocks["ETag"]}
        ).status_code
        == 304
    )


def test_errors_carry_no_validators(client: Client, store_file: Path) -> None:
    empty = client.get(LATEST)
    assert empty.status_code == 404 and "ETag" not in empty
    assert client.get(LATEST, headers={"If-None-Match": "*"}).status_code == 404
    bad = client.get("/api/prices/historical?days=0")
    assert bad.status_code == 400 and "ETag" not in bad


def test_a_failed_if_match_is_412_with_the_error_body(client: Client, week) -> None:
    response = client.get(LATEST, headers={"If-Match": '"other"'})
    assert response.status_code == 412
    assert response.json()["error"] == "precondition_failed"


def test_today_is_fresh_for_one_poll_and_changes_with_each_block(
    client: Client, store_file: Path, settings
) -> None:
    settings.PRICE_TODAY_MIN_BLOCKS = 12
    settings.PRICE_TODAY_POLL_SECONDS = 60
    with open_writer() as writer:
        writer.save_provisional(provisional_record(utc_today(), 12))
    first = client.get("/api/prices/today")
    assert first.status_code == 200 and first["Cache-Control"] == "public, max-age=60"
    with open_writer() as writer:
        writer.save_provisional(provisional_record(utc_today(), 13, price=64_400.0))
    after = client.get("/api/prices/today", headers={"If-None-Match": first["ETag"]})
    assert after.status_code == 200 and after["ETag"] != first["ETag"]


@pytest.mark.parametrize(
    ("latest_ago", "now", "expected"),
    [
        (1, "12:00", caching.MAX_AGE),  # tomorrow's price is 14 h away: capped
        (1, "23:40", 3600),  # 1 h 20 min away: capped
        (2, "00:30", 1800),  # yesterday appears at 01:00 (midnight + 6 blocks)
        (2, "00:59:30", caching.MIN_AGE),  # at least a minute
        (2, "05:00", caching.MIN_AGE),  # yesterday is due and missing: it may appear any time
    ],
)
def test_series_freshness_runs_until_the_next_day_can_appear(
    latest_ago: int, now: str, expected: int
) -> None:
    moment = datetime.fromisoformat(f"2026-03-10T{now}+00:00")
    latest = moment.date() - timedelta(days=latest_ago)
    fresh_until = caching.next_day_due(latest, moment)
    assert caching.max_age(fresh_until, moment) == expected
    assert caching.max_age(caching.next_day_due(None, moment), moment) == caching.MIN_AGE
