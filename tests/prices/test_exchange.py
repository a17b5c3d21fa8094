"""The exchange price of a day, from a real loopback server speaking the mempool backend's API."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from prices.exchange import ExchangePrices
from tests.prices.upstreams import CURRENT_PRICE, MempoolStub, historical_price
from tests.support import StubServer, json_response, text_response

TODAY = date(2025, 3, 10)


def test_the_current_day_uses_the_price_now(mempool: MempoolStub) -> None:
    assert ExchangePrices().price_on(TODAY, TODAY) == CURRENT_PRICE
    assert mempool.paths == ["/api/v1/prices"]


def test_a_past_day_uses_its_historical_price_never_the_price_now(mempool: MempoolStub) -> None:
    past = TODAY - timedelta(days=30)
    assert ExchangePrices().price_on(past, TODAY) == historical_price(past)
    [path] = mempool.paths
    url = urlsplit(path)
    assert url.path == "/api/v1/historical-price"
    query = parse_qs(url.query)
    noon = int(datetime(2025, 2, 8, 12, tzinfo=UTC).timestamp())
    assert query == {"currency": ["USD"], "timestamp": [str(noon)]}


def test_a_historical_answer_outside_the_day_is_refused(json_logs) -> None:
    now = int(time.time())
    server = StubServer(lambda hit: json_response({"prices": [{"time": now, "USD": 99.0}]})).start()
    try:
        assert ExchangePrices(server.url).price_on(TODAY - timedelta(days=3), TODAY) is None
    finally:
        server.stop()
    [event] = json_logs.events("exchange_price_unavailable")
    assert "no USD price inside 2025-03-07" in event["reason"]


def test_the_point_nearest_noon_inside_the_day_wins() -> None:
    start = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp())
    points = [
        {"time": start - 3600, "USD": 1.0},  # the day before
        {"time": start + 3600, "USD": 2.0},
        {"time": start + 13 * 3600, "USD": 3.0},  # nearest noon
        {"time": start + 86_400, "USD": 4.0},  # the day after
    ]
    server = StubServer(lambda hit: json_response({"prices": points})).start()
    try:
        assert ExchangePrices(server.url).price_on(date(2025, 3, 1), TODAY) == 3.0
    finally:
        server.stop()


@pytest.mark.parametrize(
    "answer",
    [
        json_response({"error": "down"}, 503),
        text_response("not json"),
        json_response({"time": 1, "USD": -5}),
        json_response({"time": 1, "USD": True}),
        json_response({"time": 1}),
        json_response([1, 2]),
    ],
)
def test_a_bad_current_answer_gives_no_price(settings, json_logs, answer) -> None:
    settings.HTTP_RETRIES = 0
    server = StubServer(lambda hit: answer).start()
    try:
        assert ExchangePrices(server.url).price_on(TODAY, TODAY) is None
    finally:
        server.stop()
    assert json_logs.events("exchange_price_unavailable")


@pytest.mark.parametrize(
    "payload",
    [{"prices": []}, {"prices": [{"time": "x", "USD": 5.0}]}, {"prices": ["x"]}, {}, [1]],
)
def test_a_bad_historical_answer_gives_no_price(payload) -> None:
    server = StubServer(lambda hit: json_response(payload)).start()
    try:
        assert ExchangePrices(server.url).price_on(date(2025, 1, 1), TODAY) is None
    finally:
        server.stop()
