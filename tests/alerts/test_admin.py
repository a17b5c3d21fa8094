"""Admin pages: alerts list with filters and search, token creation and revocation, feed status."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from alerts import store, tokens
from alerts.feed_status import FeedStats, store_stats
from alerts.models import AlertToken, FeedStatus
from tests.alerts.helpers import stored_alert

pytestmark = pytest.mark.django_db

ALERTS = "/admin/alerts/whalealert/"
TOKENS = "/admin/alerts/alerttoken/"


@pytest.fixture
def alerts():
    small, big, huge = (
        stored_alert(btc=150),
        stored_alert(btc=700, rbf=True),
        stored_alert(btc=6_000),
    )
    store.mark_confirmed(huge.txid, 900_001, None)
    return small, big, huge


def _listed(response, rows):
    text = response.content.decode()
    return [row.txid in text for row in rows]


def test_alert_list_and_detail(admin_client, alerts):
    response = admin_client.get(ALERTS)
    assert response.status_code == 200
    assert _listed(response, alerts) == [True, True, True]
    assert admin_client.get(f"{ALERTS}{alerts[0].pk}/change/").status_code == 200
    assert admin_client.get(f"{ALERTS}add/").status_code == 403


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("btc=0-500", [True, False, False]),
        ("btc=500-1000", [False, True, False]),
        ("btc=1000-5000", [False, False, False]),
        ("btc=5000-", [False, False, True]),
        ("rbf__exact=1", [False, True, False]),
        ("status__exact=confirmed", [False, False, True]),
        ("created_at__gte={today}", [True, True, True]),
    ],
)
def test_alert_filters(admin_client, alerts, query, expected):
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    query = query.format(today=quote(str(midnight)))
    assert _listed(admin_client.get(f"{ALERTS}?{query}"), alerts) == expected


def test_alert_search_by_txid(admin_client, alerts):
    response = admin_client.get(ALERTS, {"q": f" {alerts[1].txid.upper()} "})
    assert _listed(response, alerts) == [False, True, False]


def test_creating_a_token_shows_it_once(admin_client):
    response = admin_client.post(f"{TOKENS}add/", {"name": "dashboard", "expires_in_days": "7"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = re.search(r'value="(wat_[^"]+)"', response.content.decode()).group(1)
    token = tokens.authenticate(secret)
    assert token.name == "dashboard"
    assert timedelta(days=6.9) < token.expires_at - timezone.now() <= timedelta(days=7)
    listing = admin_client.get(TOKENS).content.decode()
    assert "dashboard" in listing and secret not in listing
    assert secret not in admin_client.get(f"{TOKENS}{token.pk}/change/").content.decode()


def test_creating_a_token_without_expiry(admin_client):
    admin_client.post(f"{TOKENS}add/", {"name": "bot"})
    assert AlertToken.objects.get(name="bot").expires_at is None


def test_revoking_tokens(admin_client):
    token, raw = tokens.create_token("leaked")
    response = admin_client.post(
        TOKENS, {"action": "revoke_tokens", "_selected_action": [token.pk]}, follow=True
    )
    assert "1 token(s) revoked." in response.content.decode()
    with pytest.raises(tokens.TokenRejected, match="revoked"):
        tokens.authenticate(raw)


def test_editing_a_token_keeps_its_secret(admin_client):
    token, raw = tokens.create_token("old name")
    page = admin_client.get(f"{TOKENS}{token.pk}/change/")
    assert page.status_code == 200
    admin_client.post(
        f"{TOKENS}{token.pk}/change/", {"name": "new name", "expires_at_0": "", "expires_at_1": ""}
    )
    assert tokens.authenticate(raw).name == "new name"


def test_feed_status_page(admin_client):
    stats = FeedStats(started_at=time.time(), connected=True, last_message_at=time.time())
    stats.processed, stats.whales, stats.parse_errors, stats.reconnects = 1234, 5, 2, 1
    store_stats(stats)
    text = admin_client.get("/admin/alerts/feedstatus/").content.decode()
    for expected in ("1234", "ok", "mempool feed"):
        assert expected in text
    FeedStatus.objects.update(
        started_at=timezone.now() - timedelta(minutes=10),
        last_message_at=timezone.now() - timedelta(minutes=5),
    )
    assert (
        "no message from the mempool backend for 3"
        in admin_client.get("/admin/alerts/feedstatus/").content.decode()
    )


def test_live_page_is_for_staff(admin_client, client):
    page = admin_client.get("/alerts/live")
    assert page.status_code == 200
    assert b'data-url="/ws/alerts/"' in page.content and b"alerts/live.js" in page.content
    assert page.content.index(b"alerts/feed.js") < page.content.index(b"alerts/live.js")
    anonymous = client.get("/alerts/live")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
