"""The /api/whales REST endpoints, the OpenAPI fragment and the token command."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import resolve
from django.utils import timezone

from alerts import store, tokens
from alerts.models import AlertToken, WhaleAlert
from alerts.openapi import PATHS, SCHEMAS
from tests.alerts.helpers import stored_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth() -> dict[str, str]:
    _, raw = tokens.create_token("rest")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def alerts() -> list[WhaleAlert]:
    rows = [
        stored_alert(btc=150, rbf=False),
        stored_alert(btc=800, rbf=True),
        stored_alert(btc=2_000, rbf=True),
    ]
    store.mark_confirmed(rows[2].txid, 900_001, None)
    store.mark_replaced(rows[1].txid, "ab" * 32)
    old = stored_alert(btc=5_000)
    WhaleAlert.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=30))
    return [WhaleAlert.objects.get(pk=row.pk) for row in rows]


def test_list_newest_first(client, auth, alerts):
    body = client.get("/api/whales", **auth).json()
    assert body["count"] == 3
    assert [item["id"] for item in body["results"]] == [row.id for row in reversed(alerts)]
    first = body["results"][0]
    assert first["txid"] == alerts[2].txid and first["btc_value"] == 2_000
    assert first["status"] == "confirmed" and first["confirmed_at"].endswith("Z")
    assert first["created_at"].endswith("Z")


def test_no_cache_keeps_an_answer_that_needed_a_token(client, auth, alerts):
    for path in ("/api/whales", "/api/whales/summary", f"/api/whales/{'cd' * 32}"):
        assert client.get(path, **auth)["Cache-Control"] == "private, no-store"
    refused = client.get("/api/whales")
    assert refused.status_code == 401 and refused["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("min_btc=500", [2, 1]),
        ("rbf_only=true", [2, 1]),
        ("rbf_only=0", [2, 1, 0]),
        ("status=replaced", [1]),
        ("status=pending", [0]),
        ("limit=1", [2]),
        ("hours=48", ["old", 2, 1, 0]),
    ],
)
def test_list_filters(client, auth, alerts, query, expected):
    body = client.get(f"/api/whales?{query}", **auth).json()
    ids = [item["id"] for item in body["results"]]
    if expected[0] == "old":
        assert len(ids) == 4 and ids[1:] == [alerts[i].id for i in expected[1:]]
    else:
        assert ids == [alerts[i].id for i in expected]


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ("hours=0", ["hours"]),
        ("hours=abc", ["hours"]),
        ("hours=nan", ["hours"]),
        ("hours=100000", ["hours"]),
        ("min_btc=-1", ["min_btc"]),
        ("rbf_only=maybe", ["rbf_only"]),
        ("status=lost", ["status"]),
        ("limit=0&hours=-2", ["hours", "limit"]),
        ("limit=5000", ["limit"]),
        ("limit=2.5", ["limit"]),
        ("hours=&min_btc=", ["hours", "min_btc"]),
    ],
)
def test_bad_parameters_are_named(client, auth, query, bad):
    response = client.get(f"/api/whales?{query}", **auth)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_parameter" and sorted(body["parameters"]) == bad
    assert all(name in body["detail"] for name in bad)


def test_detail_and_not_found(client, auth, alerts):
    body = client.get(f"/api/whales/{alerts[1].txid.upper()}", **auth).json()
    assert body["id"] == alerts[1].id and body["replaced_by"] == "ab" * 32
    missing = client.get(f"/api/whales/{'0' * 64}", **auth)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "not_found",
        "detail": "no whale alert for that txid",
        "correlation_id": missing["X-Correlation-ID"],
    }
    bad = client.get("/api/whales/not-a-txid", **auth)
    assert bad.status_code == 400 and list(bad.json()["parameters"]) == ["txid"]


def test_summary(client, auth, alerts):
    body = client.get("/api/whales/summary?hours=24", **auth).json()
    assert body == {
        "hours": 24.0,
        "count": 3,
        "total_btc": 2_950.0,
        "avg_fee_rate": round(sum(row.fee_rate for row in alerts) / 3, 2),
        "rbf_count": 2,
        "by_status": {"pending": 1, "replaced": 1, "confirmed": 1, "dropped": 0},
    }
    WhaleAlert.objects.all().delete()
    empty = client.get("/api/whales/summary", **auth).json()
    assert empty["count"] == 0 and empty["avg_fee_rate"] is None and empty["total_btc"] == 0
    assert client.get("/api/whales/summary?hours=x", **auth).status_code == 400


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic dXNlcjpwdw==", "Bearer wat_short", f"Bearer {tokens.new_token()}"],
)
@pytest.mark.parametrize("path", ["/api/whales", "/api/whales/summary", f"/api/whales/{'a' * 64}"])
def test_token_required(client, header, path):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get(path, **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"


def test_revoked_and_expired_tokens_are_refused(client):
    revoked, raw_revoked = tokens.create_token("r")
    tokens.revoke(revoked)
    _, raw_expired = tokens.create_token("e", expires_in_days=-0.01)
    for raw, reason in [(raw_revoked, "token revoked"), (raw_expired, "token expired")]:
        response = client.get("/api/whales", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 401 and response.json()["detail"] == reason


def test_only_get(client, auth):
    assert client.post("/api/whales", **auth).status_code == 405


def test_token_use_is_recorded_at_most_once_a_minute(client):
    token, raw = tokens.create_token("usage")
    client.get("/api/whales", HTTP_AUTHORIZATION=f"Bearer {raw}")
    first = AlertToken.objects.get(pk=token.pk).last_used_at
    client.get("/api/whales", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert first is not None and AlertToken.objects.get(pk=token.pk).last_used_at == first


def test_openapi_fragment_matches_the_routes():
    for path, item in PATHS.items():
        concrete = path.replace("{txid}", "a" * 64)
        assert resolve(concrete).url_name.startswith(("whale-", "alerts-"))
        for response in item["get"]["responses"].values():
            content = response.get("content", {}).get("application/json")
            if content:
                assert content["schema"]["$ref"].rsplit("/", 1)[-1] in {*SCHEMAS, "Error"}
    listed = {p["name"] for p in PATHS["/api/whales"]["get"]["parameters"]}
    assert listed == {
        "hours",
        "min_btc",
        "rbf_only",
        "status",
        "limit",
        "since_id",
        "before_id",
        "format",
    }


def test_openapi_document_includes_the_alerts_and_is_valid():
    from openapi_spec_validator import validate

    from core.openapi import openapi_document

    openapi_document.cache_clear()
    document = openapi_document()
    assert set(PATHS) <= set(document["paths"])
    assert "WhaleAlert" in document["components"]["schemas"]
    validate(document)


def test_openapi_alert_schema_lists_every_field(client, auth, alerts):
    item = client.get("/api/whales", **auth).json()["results"][0]
    assert set(item) == set(SCHEMAS["WhaleAlert"]["properties"])


def test_create_alert_token_command_prints_the_token_last():
    out = io.StringIO()
    call_command("create_alert_token", "trading-bot", "--expires-in", "30", stdout=out)
    last = out.getvalue().strip().splitlines()[-1]
    assert re.fullmatch(r"wat_[A-Za-z0-9_-]{43}", last)
    token = tokens.authenticate(last)
    assert token.name == "trading-bot"
    assert timedelta(days=29.9) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert last not in str(AlertToken.objects.values_list().get(pk=token.pk))


def test_create_alert_token_command_without_expiry():
    out = io.StringIO()
    call_command("create_alert_token", "dashboard", stdout=out)
    assert "expires: never" in out.getvalue()


def test_create_alert_token_replace_revokes_the_earlier_tokens_of_that_name():
    """Finding 12: each `make demo` added a token that never expired; now it replaces the last."""

    def create(*args: str) -> str:
        out = io.StringIO()
        call_command("create_alert_token", *args, stdout=out)
        return out.getvalue().strip().splitlines()[-1]

    first, other = create("demo", "--expires-in", "1"), create("bot")
    second = create("demo", "--expires-in", "1", "--replace")
    with pytest.raises(tokens.TokenRejected, match="revoked"):
        tokens.authenticate(first)
    assert tokens.authenticate(second).name == "demo"
    assert tokens.authenticate(other).name == "bot"


@pytest.mark.parametrize("args", [["  "], ["x", "--expires-in", "0"], ["x" * 101]])
def test_create_alert_token_command_refuses_bad_input(args):
    with pytest.raises(CommandError):
        call_command("create_alert_token", *args, stdout=io.StringIO())


def test_malformed_and_missing_tokens():
    with pytest.raises(tokens.TokenRejected, match="missing"):
        tokens.authenticate(None)
    with pytest.raises(tokens.TokenRejected, match="malformed"):
        tokens.authenticate(12)
    assert tokens.current_rejections([10**9]) == {10**9: "unknown"}


def _pages(client, auth, path):
    """Every page from `path` on, following `next`; the pages' ids and Link headers."""
    pages = []
    while path:
        response = client.get(path, **auth)
        assert response.status_code == 200
        body = response.json()
        pages.append([item["id"] for item in body["results"]])
        link = response.get("Link")
        assert link == (f'<{body["next"]}>; rel="next"' if body["next"] else None)
        path = body["next"]
    return pages


def test_pages_backward_with_before_id(client, auth):
    ids = [stored_alert(btc=100 + i).id for i in range(7)]
    pages = _pages(client, auth, "/api/whales?limit=3&min_btc=100")
    assert pages == [ids[6:3:-1], ids[3:0:-1], ids[:1]]
    first = client.get("/api/whales?limit=3&min_btc=100", **auth).json()
    assert first["next"] == f"/api/whales?limit=3&min_btc=100&before_id={ids[4]}"
    assert first["count"] == 7


def test_pages_forward_with_since_id(client, auth):
    ids = [stored_alert(btc=100 + i).id for i in range(5)]
    pages = _pages(client, auth, f"/api/whales?since_id={ids[0]}&limit=2")
    assert pages == [ids[1:3], ids[3:5]]
    body = client.get(f"/api/whales?since_id={ids[4]}", **auth).json()
    assert body == {"count": 0, "results": [], "next": None}


def test_a_cursor_replaces_the_default_window_but_not_an_explicit_hours(client, auth):
    old = stored_alert(btc=300)
    WhaleAlert.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=30))
    new = stored_alert(btc=400)
    assert [i["id"] for i in client.get("/api/whales", **auth).json()["results"]] == [new.id]
    cursor = client.get(f"/api/whales?before_id={new.id + 1}", **auth).json()
    assert [item["id"] for item in cursor["results"]] == [new.id, old.id]
    windowed = client.get("/api/whales?since_id=0&hours=24", **auth).json()
    assert [item["id"] for item in windowed["results"]] == [new.id]


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ("since_id=1&before_id=9", ["before_id"]),
        ("since_id=-1", ["since_id"]),
        ("before_id=0", ["before_id"]),
        ("before_id=abc&limit=1001", ["before_id", "limit"]),
        ("since_id=1e3", ["since_id"]),
        ("format=xml", ["format"]),
    ],
)
def test_bad_cursors_and_formats_are_named(client, auth, query, bad):
    response = client.get(f"/api/whales?{query}", **auth)
    assert response.status_code == 400
    assert sorted(response.json()["parameters"]) == bad


def test_csv_page_with_its_link(client, auth, alerts):
    response = client.get("/api/whales?format=csv&limit=2", **auth)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    header = lines[0].split(",")
    assert set(header) == set(SCHEMAS["WhaleAlert"]["properties"])
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert [int(row["id"]) for row in rows] == [alerts[2].id, alerts[1].id]
    assert rows[0]["status"] == "confirmed" and rows[0]["rbf"] == "true"
    assert rows[1]["block_height"] == ""
    assert (
        response["Link"] == f'</api/whales?format=csv&limit=2&before_id={alerts[1].id}>; rel="next"'
    )
    last = client.get("/api/whales?format=csv&limit=3", **auth)
    assert "Link" not in last and len(last.content.decode().splitlines()) == 4
