"""The `mempool_feed` health check as registered with the health app."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import FeedStatus
from health.base import registered_checks


def feed_check():
    return next(c for c in registered_checks() if c.name == "mempool_feed")


@pytest.mark.django_db(transaction=True)
async def test_the_feed_check_follows_the_stored_status() -> None:
    check = feed_check()
    assert not check.critical
    missing = await check.run()
    assert (missing.status, missing.error) == (
        "error",
        "the mempool feed has not reported yet (is the worker running?)",
    )
    status = await FeedStatus.objects.acreate(last_message_at=timezone.now())
    assert (await check.run()).status == "ok"
    status.last_message_at = timezone.now() - timedelta(minutes=3)
    await status.asave()
    stale = await check.run()
    assert stale.status == "error" and stale.error.startswith("no message from the mempool backend")
