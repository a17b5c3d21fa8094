"""`manage.py notify_test`: send a test notification to every URL of NOTIFY_URLS and report, per
URL, whether it arrived (URLs named by position and scheme only); exit 1 when one did not."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from core.commands import CorrelatedCommand
from notify.notifier import Notification, Notifier, accepted, describe


class Command(CorrelatedCommand):
    help = "Send a test notification to each URL of NOTIFY_URLS and say which ones received it."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.NOTIFY_URLS:
            raise CommandError("NOTIFY_URLS is empty: set one or more apprise URLs first")
        notifier = Notifier.from_settings()
        note = Notification(
            "test", "oracle test notification", "NOTIFY_URLS works: this service can reach you."
        )
        failed = 0
        for index, url in enumerate(notifier.urls):
            if not accepted(url):
                self.stdout.write(f"{describe(index, url)}: refused (unknown service or bad URL)")
                failed += 1
                continue
            arrived = notifier.deliver_to(index, url, note)
            self.stdout.write(f"{describe(index, url)}: {'sent' if arrived else 'failed'}")
            failed += not arrived
        if failed:
            raise CommandError(f"{failed} of {len(notifier.urls)} URL(s) did not receive it")
