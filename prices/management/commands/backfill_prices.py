"""`manage.py backfill_prices --from D --to D [--force]`: compute a range of days.

Days that are valid already are skipped unless --force; each day is saved as soon as it is
computed, so an interrupted backfill resumes where it stopped when run again. Exit status: 0 when
every day was computed or skipped, 1 when a day failed, 2 for a bad range.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from core.commands import CorrelatedCommand
from prices.ingestion import PriceIngestion
from prices.progress import CommandProgress
from prices.utxoracle.engine import EARLIEST_DATE


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


class Command(CorrelatedCommand):
    help = "Compute the on-chain price of every UTC day from --from to --to (inclusive)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--from", dest="first", type=_iso_date, required=True, metavar="D")
        parser.add_argument("--to", dest="last", type=_iso_date, required=True, metavar="D")
        parser.add_argument(
            "--force", action="store_true", help="recompute days that are valid already"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        first, last = options["first"], options["last"]
        ingestion = PriceIngestion()
        if last < first:
            self._refuse(f"--to ({last}) is before --from ({first})")
        if last >= ingestion.today:
            self._refuse(f"--to must be a complete day, before today ({ingestion.today} UTC)")
        if first < EARLIEST_DATE:
            self._refuse(f"--from must be on or after {EARLIEST_DATE} (UTXOracle v9.1)")
        progress = CommandProgress(
            (last - first).days + 1, self.stdout.write, sys.stderr, bars=sys.stderr.isatty()
        )
        try:
            summary = ingestion.run(
                first, last, force=options["force"], on_day=progress.day, progress=progress.blocks
            )
        finally:
            progress.close()
        self.stdout.write(f"backfill_prices {summary.line()}")
        if summary.failed:
            raise SystemExit(1)

    def _refuse(self, message: str) -> None:
        self.stderr.write(f"backfill_prices: {message}")
        raise SystemExit(2)
