"""The price API through Django's request handling, every response checked against the OpenAPI
document."""

from __future__ import annotations

import csv
import io
import re
import types
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

from core import openapi as core_openapi
from core.openapi import openapi_document
from prices.selectors import missing_price_dates, utc_today
from prices.serializers import PRICE_FIELDS
from prices.store import SNAPSHOT_POINTER, migrate, open_writer, snapshot_dir
from tests.prices.builders import block_records, day_record, invalid
from tests.prices.openapi_check import check_response


def ago(days: int):
    return utc_today() - timedelta(days=days)


@pytest.fixture
def series(store_file: Path) -> dict:
    """today-1 valid, today-2 invalid, today-3 missing, today-4 valid without exchange price,
    today-5 … today-9 valid, plus a row dated today (never part of a window)."""
    records = {
        1: day_record(ago(1), 64_000.0),
        2: invalid(day_record(ago(2), 9_000.0)),
        4: day_record(ago(4), 62_000.0, exchange_price=None),
        0: day_record(utc_today(), 65_000.0),
    }
    for days in range(5, 10):
        records[days] = day_record(ago(days), 60_000.0 + days, exchange_price=60_600.0 + days)
    with open_writer() as writer:
        for record in records.values():
            writer.save_day(record, block_records(record.date, 2))
    return records


def get(client: Client, path: str, **params: str):
    response = client.get(path, params)
    return response, check_response(path, response)


def test_latest_is_404_json_on_an_empty_series(client: Client, store_file: Path) -> None:
    response, body = get(client, "/api/prices/latest")
    assert response.status_code == 404
    assert "No prices yet" in body["detail"]


def test_an_empty_series_has_no_history(client: Client, store_file: Path) -> None:
    assert get(client, "/api/prices/historical", days="30")[1] == []
    _, text = get(client, "/api/prices/historical", days="30", format="csv")
    assert text.splitlines() == [",".join(PRICE_FIELDS)]


def test_latest_gives_the_most_recent_row_with_the_earlier_field_names(
    client: Client, series: dict
) -> None:
    response, body = get(client, "/api/prices/latest")
    assert response.status_code == 200
    record = series[0]
    assert body == {
        "timestamp": utc_today().isoformat(),
        "utxoracle_price": 65_000.0,
        "mempool_price": record.exchange_price,
        "confidence": record.confidence,
        "tx_count": record.output_count,
        "diff_amount": record.price_difference,
        "diff_percent": record.avg_pct_diff,
        "is_valid": True,
        "deviation": record.deviation,
        "block_first": record.block_first,
        "block_last": record.block_last,
    }


def test_answers_follow_each_published_snapshot(client: Client, series: dict) -> None:
    assert get(client, "/api/prices/latest")[1]["timestamp"] == utc_today().isoformat()
    _, before = get(client, "/api/prices/historical", days="3")
    with open_writer() as writer:
        writer.save_day(day_record(ago(3), 61_000.0), [])
        writer.save_day(day_record(utc_today() + timedelta(days=1), 66_000.0), [])
    assert get(client, "/api/prices/latest")[1]["utxoracle_price"] == 66_000.0
    _, after = get(client, "/api/prices/historical", days="3")
    assert [e["timestamp"] for e in after] == [
        ago(3).isoformat(),
        *(e["timestamp"] for e in before),
    ]


def test_historical_defaults_to_the_seven_complete_days_before_today(
    client: Client, series: dict
) -> None:
    response, body = get(client, "/api/prices/historical")
    assert response.status_code == 200
    assert [e["timestamp"] for e in body] == [ago(d).isoformat() for d in (7, 6, 5, 4, 2, 1)]
    by_day = {e["timestamp"]: e for e in body}
    assert by_day[ago(2).isoformat()]["is_valid"] is False
    assert by_day[ago(4).isoformat()]["mempool_price"] is None
    assert by_day[ago(4).isoformat()]["diff_amount"] is None


def test_historical_by_days_and_by_dates(client: Client, series: dict) -> None:
    _, body = get(client, "/api/prices/historical", days="2")
    assert [e["timestamp"] for e in body] == [ago(2).isoformat(), ago(1).isoformat()]
    _, body = get(client, "/api/prices/historical", days="3650")
    assert len(body) == 8
    _, body = get(
        client, "/api/prices/historical", start=ago(9).isoformat(), end=ago(8).isoformat()
    )
    assert [e["timestamp"] for e in body] == [ago(9).isoformat(), ago(8).isoformat()]
    _, body = get(
        client, "/api/prices/historical", start=utc_today().isoformat(), end=utc_today().isoformat()
    )
    assert [e["timestamp"] for e in body] == [utc_today().isoformat()]


def test_historical_as_csv(client: Client, series: dict) -> None:
    response, text = get(client, "/api/prices/historical", days="4", format="csv")
    assert response.status_code == 200
    assert f'filename="prices-{ago(4)}-{ago(1)}.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["timestamp"] for r in rows] == [
        ago(4).isoformat(),
        ago(2).isoformat(),
        ago(1).isoformat(),
    ]
    assert rows[0]["mempool_price"] == "" and rows[0]["is_valid"] == "true"
    assert rows[1]["is_valid"] == "false"
    assert float(rows[2]["utxoracle_price"]) == 64_000.0
    assert list(rows[0]) == [
        "timestamp",
        "utxoracle_price",
        "mempool_price",
        "confidence",
        "tx_count",
        "diff_amount",
        "diff_percent",
        "is_valid",
        "deviation",
        "block_first",
        "block_last",
    ]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"days": "0"}, "days"),
        ({"days": "3651"}, "days"),
        ({"days": "abc"}, "days"),
        ({"days": "7.5"}, "days"),
        ({"days": "-1"}, "days"),
        ({"days": " 7"}, "days"),
        ({"days": ""}, "days"),
        ({"start": "2025-01-01"}, "end"),
        ({"end": "2025-01-01"}, "start"),
        ({"start": "2025-01-02", "end": "2025-01-01"}, "end"),
        ({"start": "2015-01-01", "end": "2025-01-01"}, "end"),
        ({"start": "2025-02-30", "end": "2025-03-01"}, "start"),
        ({"start": "20250101", "end": "2025-03-01"}, "start"),
        ({"start": "2025-01-01", "end": "2025-W01-1"}, "end"),
        ({"days": "3", "start": "2025-01-01", "end": "2025-01-02"}, "days"),
        ({"format": "xml"}, "format"),
    ],
)
def test_historical_names_the_bad_parameter(
    client: Client, series: dict, params: dict, parameter: str
) -> None:
    response, body = get(client, "/api/prices/historical", **params)
    assert response.status_code == 400
    assert body["error"] == "invalid_parameter"
    assert list(body["parameters"]) == [parameter]
    assert body["detail"].startswith(f"{parameter} ")


def test_comparison_covers_valid_days_with_both_prices(client: Client, series: dict) -> None:
    response, body = get(client, "/api/prices/comparison", days="9")
    assert response.status_code == 200
    # days 9..5 have both prices (difference 600 each... scaled), day 4 lacks the exchange price,
    # day 2 is invalid, day 1 has a 0.5 % difference.
    both = [series[d] for d in (9, 8, 7, 6, 5, 1)]
    differences = [r.price_difference for r in both]
    assert body["avg_diff"] == pytest.approx(sum(differences) / len(differences), abs=0.01)
    assert body["max_diff"] == max(differences)
    assert body["min_diff"] == min(differences)
    percents = [r.avg_pct_diff for r in both]
    assert body["avg_diff_percent"] == pytest.approx(sum(percents) / len(percents), abs=1e-4)
    assert (body["total_entries"], body["valid_entries"], body["timeframe_days"]) == (8, 7, 9)


def test_comparison_of_an_empty_period(client: Client, series: dict) -> None:
    _, body = get(client, "/api/prices/comparison", days="1")
    assert body["total_entries"] == 1
    _, body = get(client, "/api/prices/comparison")
    assert body["timeframe_days"] == 7


def test_comparison_on_an_empty_series(client: Client, store_file: Path) -> None:
    _, body = get(client, "/api/prices/comparison", days="30")
    assert body == {
        "avg_diff": None,
        "max_diff": None,
        "min_diff": None,
        "avg_diff_percent": None,
        "total_entries": 0,
        "valid_entries": 0,
        "timeframe_days": 30,
    }


def test_gaps_lists_missing_and_invalid_complete_days(client: Client, series: dict) -> None:
    response, body = get(client, "/api/prices/gaps", days="12")
    assert response.status_code == 200
    assert body["gaps"] == [
        {"date": ago(12).isoformat(), "status": "missing"},
        {"date": ago(11).isoformat(), "status": "missing"},
        {"date": ago(10).isoformat(), "status": "missing"},
        {"date": ago(3).isoformat(), "status": "missing"},
        {"date": ago(2).isoformat(), "status": "invalid"},
    ]
    assert body["gaps_detected"] == 5
    assert body["missing_dates"] == [d.isoformat() for d in missing_price_dates(12)]
    assert (body["first"], body["last"]) == (ago(12).isoformat(), ago(1).isoformat())


@pytest.mark.parametrize(
    "path",
    ["/api/prices/latest", "/api/prices/historical", "/api/prices/comparison", "/api/prices/gaps"],
)
def test_an_unreadable_store_is_503_json(
    client: Client, store_file: Path, path: str, json_logs
) -> None:
    """Finding 9: the body named the snapshot files; now a short reason and the correlation ID."""
    migrate()
    directory = snapshot_dir(store_file)
    (directory / "5.duckdb").write_bytes(b"\0" * 5000)
    (directory / SNAPSHOT_POINTER).write_text("5.duckdb")
    response, body = get(client, path)
    assert response.status_code == 503
    cid = response["X-Correlation-ID"]
    assert body == {
        "detail": f"Database connection failed: price store unavailable (correlation ID {cid})"
    }
    (logged,) = json_logs.events("price_store_unavailable")
    assert logged["correlation_id"] == cid and "5.duckdb" in logged["reason"]


def test_writes_are_refused(client: Client, series: dict) -> None:
    assert client.post("/api/prices/latest").status_code == 405
    assert client.head("/api/prices/latest").status_code == 200


def test_the_openapi_document_is_valid_and_served(client: Client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document == openapi_document()


def _routes(patterns: list, prefix: str = "") -> list[str]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):  # <str:txid> is {txid} in OpenAPI
            found.append(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", "/" + prefix + str(pattern.pattern)))
    return found


def test_every_json_endpoint_of_the_service_is_documented() -> None:
    routes = {
        route
        for route in _routes(get_resolver("oracle.urls").url_patterns)
        if not route.startswith("/admin/")
    }
    assert routes, "no routes found"
    assert routes <= set(openapi_document()["paths"])


def test_every_app_fragment_is_found() -> None:
    assert [fragment.__name__ for fragment in core_openapi.fragments()] == [
        "health.openapi",
        "prices.openapi",
        "alerts.openapi",
        "metrics.openapi",
    ]
    document = openapi_document()
    assert [tag["name"] for tag in document["tags"]] == [
        "health",
        "prices",
        "alerts",
        "metrics",
        "service",
    ]


def test_fragments_are_merged_with_the_service_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    fragment = types.ModuleType("extra.openapi")
    fragment.PATHS = {
        "/api/extra": {"get": {"tags": ["extra"], "responses": {"200": {"description": "ok"}}}}
    }
    fragment.SCHEMAS = {"Extra": {"type": "object"}}
    fragment.TAGS = [{"name": "extra"}]
    monkeypatch.setattr(core_openapi, "fragments", lambda: [fragment])
    openapi_document.cache_clear()
    try:
        document = openapi_document()
    finally:
        openapi_document.cache_clear()
    assert document["paths"]["/api/extra"] == fragment.PATHS["/api/extra"]
    assert {"/", "/api/openapi.json", "/api/docs"} <= set(document["paths"])
    assert set(document["components"]["schemas"]) == {"Error", "ServiceIndex", "Extra"}
    assert [t["name"] for t in document["tags"]] == ["extra", "service"]
    validate(document)


def test_the_docs_page_works_offline(client: Client) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/core/api-docs.js" in page and "/api/openapi.json" in page
    script = client.get("/static/core/api-docs.js")
    assert script.status_code == 200 and "javascript" in script["Content-Type"]
    static_dir = Path(__file__).resolve().parents[2] / "prices" / "static" / "prices"
    for asset in [*static_dir.iterdir(), Path("core/templates/core/api_docs.html")]:
        assert "http://" not in asset.read_text() and "https://" not in asset.read_text()
