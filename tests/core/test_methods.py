"""Finding 13: `TRACE /` answered 200 and `TRACE /alerts/live` 302. A path answers only the
methods it serves: those of the OpenAPI document for its paths, GET, HEAD and POST for pages."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("TRACE", "/", "GET, HEAD"),
        ("POST", "/", "GET, HEAD"),  # before CSRF could answer 403
        ("TRACE", "/alerts/live", "GET, HEAD"),  # before the login redirect
        ("DELETE", "/alerts/live", "GET, HEAD"),
        ("TRACE", "/admin/", "GET, HEAD, POST"),
        ("PUT", "/admin/login/", "GET, HEAD, POST"),
        ("TRACE", "/api/prices/latest", "GET, HEAD"),
        ("PATCH", "/health", "GET, HEAD"),
    ],
)
def test_other_methods_are_405_with_allow(method: str, path: str, allow: str) -> None:
    response = Client().generic(method, path)
    assert response.status_code == 405
    assert response["Allow"] == allow
    assert response.json()["error"] == "method_not_allowed"


def test_the_served_methods_still_work(admin_client: Client) -> None:
    assert Client().get("/").status_code == 200
    assert Client().head("/").status_code == 200
    assert Client().get("/alerts/live").status_code == 302  # to the login
    assert admin_client.post("/admin/logout/").status_code == 200
