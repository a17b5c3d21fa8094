"""The shared API helpers: one error body, the parameter reader, iso(), the JSON error pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.test import Client

from core.api import ApiError, BadParameters, Params, iso


def test_the_error_body_is_a_code_and_a_sentence() -> None:
    error = ApiError(409, "conflict", "it clashes", hint="wait")
    assert error.body() == {
        "error": "conflict",
        "detail": "it clashes",
        "hint": "wait",
        "correlation_id": None,  # outside a request
    }
    response = error.response()
    assert response.status_code == 409 and response["Content-Type"] == "application/json"


def test_params_collect_every_problem_at_once() -> None:
    params = Params({"n": "x", "f": "inf", "b": "maybe", "c": "red", "d": "2025-02-30", "e": ""})
    assert params.integer("n", 7, 1, 10) == 7
    assert params.number("f", None, 0, 5) is None
    assert params.boolean("b", False) is False
    assert params.choice("c", "blue", ("blue", "green")) == "blue"
    assert params.date("d") is None
    assert params.integer("e", 3, 1, 5) == 3  # empty is a bad value, not an absent one
    with pytest.raises(BadParameters) as raised:
        params.check()
    assert raised.value.problems == {
        "n": "must be an integer from 1 to 10 (got 'x')",
        "f": "must be a number from 0 to 5 (got 'inf')",
        "b": "must be true or false (got 'maybe')",
        "c": "must be one of blue, green (got 'red')",
        "d": "must be a date as YYYY-MM-DD (got '2025-02-30')",
        "e": "must be an integer from 1 to 5 (got '')",
    }
    assert raised.value.body()["error"] == "invalid_parameter"
    assert raised.value.detail.startswith("n must be an integer from 1 to 10 (got 'x'); f must")


def test_params_read_good_values_and_defaults() -> None:
    params = Params({"n": "10", "f": "0.5", "b": "TRUE", "c": "green", "d": "2025-02-28"})
    assert params.integer("n", 1, 1, 10) == 10
    assert params.number("f", None, 0, 5, above_minimum=True) == 0.5
    assert params.boolean("b", False) is True
    assert params.choice("c", "blue", ("blue", "green")) == "green"
    assert params.date("d") is not None
    assert params.integer("absent", 4, 1, 10) == 4
    assert "n" in params and "absent" not in params
    params.check()
    assert Params({"f": "0"}).number("f", 9.0, 0, 5, above_minimum=True) == 9.0


def test_a_long_bad_value_is_cut_in_the_message() -> None:
    params = Params({"n": "9" * 100})
    params.integer("n", 1, 1, 10)
    assert params.problems["n"] == f"must be an integer from 1 to 10 (got '{'9' * 40}…')"


def test_iso_is_utc_with_milliseconds_and_a_z() -> None:
    moment = datetime(2026, 1, 2, 4, 5, 6, 789123, tzinfo=timezone(timedelta(hours=1)))
    assert iso(moment) == "2026-01-02T03:05:06.789Z"
    assert iso(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00.000Z"
    assert iso(None) is None


def test_unknown_json_paths_get_the_error_body(client: Client) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "detail": "no endpoint at /api/nothing-here",
        "correlation_id": response["X-Correlation-ID"],
    }
    assert "text/html" in client.get("/nothing-here")["Content-Type"]


def test_other_methods_get_405_with_allow(client: Client) -> None:
    response = client.post("/api/prices/latest")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    assert response.json()["error"] == "method_not_allowed"
    assert client.generic("TRACE", "/health").status_code == 405


def test_a_failing_json_endpoint_answers_the_error_body() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/api/_test/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "detail": "the server failed; see its logs",
        "correlation_id": response["X-Correlation-ID"],
    }
    assert "text/html" in client.get("/_test/boom")["Content-Type"]
