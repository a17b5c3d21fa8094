"""No query string can make the price API fail: every answer is a documented 200, 400 or 404."""

from __future__ import annotations

import string
from datetime import date
from pathlib import Path

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prices.store import open_writer
from tests.prices.builders import block_records, day_record
from tests.prices.openapi_check import check_response

# Each endpoint as requested, and as the OpenAPI document names it.
ENDPOINTS = {
    "/api/prices/latest": "/api/prices/latest",
    "/api/prices/historical": "/api/prices/historical",
    "/api/prices/comparison": "/api/prices/comparison",
    "/api/prices/gaps": "/api/prices/gaps",
    "/api/prices/today": "/api/prices/today",
    "/api/prices/at": "/api/prices/at",
    "/api/prices/2025-01-01": "/api/prices/{date}",
    "/api/prices/2025-01-01/cloud": "/api/prices/{date}/cloud",
}
PARAMETERS = ("days", "start", "end", "format", "timestamp")
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

values = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
    st.integers(-(10**12), 10**12).map(str),
    st.dates().map(str),
    st.sampled_from(["json", "csv", "1", "3650", "3651", "0", "0001-01-01", "9999-12-31"]),
    st.integers(1_735_689_000, 1_735_776_000).map(str),  # around 2025-01-01
)
queries = st.dictionaries(st.sampled_from((*PARAMETERS, "other")), values, max_size=4)
raw_queries = st.text(string.ascii_letters + string.digits + "%&=;+-._~[]", max_size=60)


@pytest.fixture
def one_day(store_file: Path) -> None:
    with open_writer() as writer:
        writer.save_day(day_record(date(2025, 1, 1)), block_records(date(2025, 1, 1)))


@FUZZ
@given(path=st.sampled_from(sorted(ENDPOINTS)), params=queries)
def test_every_parameter_value_gets_a_documented_answer(
    client: Client, one_day: None, path: str, params: dict
) -> None:
    response = client.get(path, params)
    assert response.status_code in (200, 400, 404)
    body = check_response(ENDPOINTS[path], response)
    if response.status_code == 400:
        assert set(body["parameters"]) <= set(PARAMETERS)


@FUZZ
@given(path=st.sampled_from(sorted(ENDPOINTS)), raw=raw_queries)
def test_every_raw_query_string_gets_a_documented_answer(
    client: Client, one_day: None, path: str, raw: str
) -> None:
    response = client.get(path, QUERY_STRING=raw)
    assert response.status_code in (200, 400, 404)
    check_response(ENDPOINTS[path], response)
