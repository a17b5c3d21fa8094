"""Finding 7: a staff member without any permission opened the dashboard, the live page and the
price pages, and queued backfills. Each operator page now needs the model permission of what it
shows (view) or does (add)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from prices.models import BackfillRequest

pytestmark = pytest.mark.django_db
PAGES = {
    "/admin/dashboard/": ("view_priceseries", "view_checksample", "view_whalealert"),
    "/alerts/live": ("view_whalealert",),
    "/admin/prices/priceseries/": ("view_priceseries",),
    "/admin/prices/priceseries/2024-01-01/": ("view_priceseries",),
    "/admin/prices/backfillrequest/": ("view_backfillrequest",),
    "/admin/health/checksample/service-history/": ("view_checksample",),
}
BACKFILL = "/admin/prices/priceseries/backfill/"


@pytest.fixture
def staff(client, django_user_model, settings, tmp_path):
    settings.DUCKDB_PATH = tmp_path / "prices.duckdb"  # no store: the pages say so
    user = django_user_model.objects.create_user("operator", password="pw", is_staff=True)
    client.force_login(user)
    return client, user


def grant(user, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


@pytest.mark.parametrize("url", PAGES)
def test_staff_without_the_permission_is_refused(staff, url) -> None:
    client, user = staff
    assert client.get(url).status_code == 403
    *others, last = PAGES[url]
    if others:  # every permission is needed, not just one of them
        grant(user, *others)
        assert client.get(url).status_code == 403
    grant(user, last)
    assert client.get(url).status_code == 200


def test_queueing_a_backfill_needs_the_add_permission(staff) -> None:
    client, user = staff
    grant(user, "view_priceseries")
    page = client.get("/admin/prices/priceseries/2024-01-01/").content.decode()
    assert BACKFILL not in page  # no button without the permission
    assert client.post(BACKFILL, {"day": "2024-01-01"}).status_code == 403
    assert not BackfillRequest.objects.exists()
    grant(user, "add_backfillrequest")
    assert client.post(BACKFILL, {"day": "2024-01-01"}).status_code == 302
    assert BackfillRequest.objects.count() == 1


def test_the_admin_index_links_only_the_pages_the_user_may_open(staff) -> None:
    client, user = staff
    assert "Operator pages" not in client.get("/admin/").content.decode()
    grant(user, "view_whalealert")
    page = client.get("/admin/").content.decode()
    assert "/alerts/live" in page and "/admin/dashboard/" not in page
