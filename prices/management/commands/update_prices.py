"""`manage.py update_prices`: compute the complete days of the last PRICE_WINDOW_DAYS that lack a
valid price. Exit status 1 when a day could not be computed."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings

from core.commands import CorrelatedCommand
from prices.ingestion import update_prices
from prices.progress import CommandProgress


class Command(CorrelatedCommand):
    help = (
        "Compute every complete UTC day of the last PRICE_WINDOW_DAYS that has no valid price yet,"
        " and fill in exchange prices missing from stored days."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        progress = CommandProgress(
            settings.PRICE_WINDOW_DAYS, self.stdout.write, sys.stderr, bars=sys.stderr.isatty()
        )
        try:
            summary = update_prices(on_day=progress.day, progress=progress.blocks)
        finally:
            progress.close()
        self.stdout.write(f"update_prices {summary.line()}")
        if summary.failed:
            raise SystemExit(1)
