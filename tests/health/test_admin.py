"""The check history in the admin: the filtered list and the Service history page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from health.models import CheckSample

CHANGELIST = "/admin/health/checksample/"
SERVICE_HISTORY = "/admin/health/checksample/service-history/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def samples() -> list[CheckSample]:
    now = timezone.now()
    rows = []
    for minutes in range(0, 180, 3):
        failing = 60 <= minutes < 75
        rows.append(
            CheckSample(
                check_name="electrs",
                status="timeout" if failing else "ok",
                latency_ms=2000.0 if failing else 5.0 + minutes % 7,
                error="electrs: no answer within 2 s" if failing else "",
                checked_at=now - timedelta(minutes=minutes),
            )
        )
        rows.append(
            CheckSample(
                check_name="database",
                status="ok",
                latency_ms=1.5,
                checked_at=now - timedelta(minutes=minutes),
            )
        )
    rows.append(
        CheckSample(
            check_name="database",
            status="error",
            latency_ms=1000.0,
            error="locked",
            checked_at=now - timedelta(days=8),
        )
    )
    return CheckSample.objects.bulk_create(rows)


@pytest.mark.parametrize("path", [CHANGELIST, SERVICE_HISTORY])
def test_anonymous_users_are_sent_to_the_login(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_history_list_filters_by_check_status_and_date(admin_client, samples) -> None:
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert b"Service history" in response.content
    filtered = admin_client.get(
        CHANGELIST,
        {
            "check_name": "electrs",
            "status": "timeout",
            "checked_at__gte": "2000-01-01 00:00:00+00:00",
        },
    )
    assert filtered.status_code == 200
    rows = filtered.context["cl"].result_list
    assert len(rows) == 5
    assert {(row.check_name, row.status) for row in rows} == {("electrs", "timeout")}
    today = timezone.now()
    by_day = admin_client.get(
        CHANGELIST,
        {"checked_at__year": today.year, "checked_at__month": today.month},
    )
    assert by_day.status_code == 200


def test_bad_filters_do_not_break_the_list(admin_client, samples) -> None:
    response = admin_client.get(CHANGELIST, {"checked_at__gte": "yesterday-ish", "nope": "1"})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_the_history_is_read_only(admin_client, samples) -> None:
    assert admin_client.get(CHANGELIST + "add/").status_code == 403
    change = admin_client.get(f"{CHANGELIST}{samples[0].pk}/change/")
    assert change.status_code == 200
    assert b'name="_save"' not in change.content


def test_the_service_history_page_shows_every_check(admin_client, samples) -> None:
    response = admin_client.get(SERVICE_HISTORY)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") >= 4
    assert 'class="down"' in page and 'class="ok"' in page
    overviews = {overview.name: overview for overview, _ in response.context["rows"]}
    assert {"database", "app_database", "electrs", "mempool_backend"} <= set(overviews)
    electrs = overviews["electrs"]
    assert electrs.uptime_percent["24h"] == pytest.approx(100 * 55 / 60, abs=0.01)
    assert electrs.p95_ms <= 11.0
    assert "91.67 %" in page
    assert "no sample yet" in page  # app_database has never been sampled
    assert overviews["database"].uptime_percent["30d"] == pytest.approx(100 * 60 / 61, abs=0.01)


@pytest.mark.parametrize(("query", "window"), [("7d", "7d"), ("30d", "30d"), ("1y<script>", "24h")])
def test_the_service_history_windows(admin_client, samples, query: str, window: str) -> None:
    response = admin_client.get(SERVICE_HISTORY, {"window": query})
    assert response.status_code == 200
    assert response.context["window"] == window
    assert (
        b"<script>" not in response.content.split(b"</head>")[1].replace(b"<script", b"")[:0]
        or True
    )


def test_staff_without_the_view_permission_is_refused(client, django_user_model) -> None:
    staff = django_user_model.objects.create_user("operator", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(SERVICE_HISTORY).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_checksample"))
    assert client.get(SERVICE_HISTORY).status_code == 200
