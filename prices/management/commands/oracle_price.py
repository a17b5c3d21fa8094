"""`manage.py oracle_price`: compute the on-chain price of a UTC day (or of the latest blocks) and
print it. Writes nothing.

Exit status: 0 on success, 1 when the block source or the data fails, 2 when the date is refused
or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from tqdm import tqdm

from core.commands import CorrelatedCommand

if TYPE_CHECKING:
    from prices.utxoracle.engine import OracleResult


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive number of blocks: {text!r}")
    return int(text)


class Command(CorrelatedCommand):
    # Django's system checks are `manage.py check`'s job: this command starts without them.
    requires_system_checks: list[str] = []
    help = "Compute the UTXOracle v9.1 on-chain BTC/USD price of a UTC day, or of recent blocks."

    def add_arguments(self, parser: Any) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--date", type=_iso_date, help="UTC day, YYYY-MM-DD")
        which.add_argument(
            "--blocks", type=_positive, metavar="N", help="the N blocks below the tip instead"
        )
        parser.add_argument(
            "--source",
            choices=("esplora", "bitcoind"),
            help="block source (default: PRICE_SOURCE, tried in order)",
        )
        parser.add_argument("--json", action="store_true", help="print only the result as JSON")
        parser.add_argument(
            "--workers", type=int, default=None, help="parsing processes (default: one per core)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The engine (NumPy) loads here, not when the command is listed or asked for --help.
        from prices.utxoracle.algorithm import InsufficientData
        from prices.utxoracle.engine import (
            DateNotServable,
            compute_day_price,
            compute_recent_price,
        )
        from prices.utxoracle.sources import (
            BlockSourceError,
            WrongSource,
            block_source_from_settings,
        )

        source = block_source_from_settings([options["source"]] if options["source"] else None)
        bar = ProgressBar() if sys.stderr.isatty() else None
        try:
            if options["date"] is not None:
                result = compute_day_price(options["date"], source, bar, workers=options["workers"])
            else:
                result = compute_recent_price(
                    options["blocks"], source, bar, workers=options["workers"]
                )
        except DateNotServable as exc:
            self._fail(f"date refused: {exc}", 2)
        except WrongSource as exc:
            self._fail(f"source refused: {exc}", 2)
        except (BlockSourceError, InsufficientData) as exc:
            self._fail(str(exc), 1)
        finally:
            if bar:
                bar.close()
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict()))
        else:
            self.stdout.write(_summary(result))

    def _fail(self, message: str, status: int) -> NoReturn:
        self.stderr.write(f"oracle_price: {message}")
        raise SystemExit(status)


def _summary(result: OracleResult) -> str:
    when = result.date.isoformat() if result.date else f"last {result.block_count} blocks"
    return "\n".join(
        (
            f"{when} price: ${result.price_rounded:,} ({result.price:.2f} USD/BTC)",
            f"  rough price ${result.rough_price:,}, blocks {result.block_first}-"
            f"{result.block_last} ({result.block_count}), {result.output_count:,} outputs,"
            f" {result.price_point_count:,} price points",
            f"  deviation {result.deviation:.4f}, confidence {result.confidence:.2f},"
            f" source {result.source}, {result.algorithm}, {result.elapsed_s:.2f} s",
        )
    )


class ProgressBar:
    """A tqdm bar (blocks fetched and parsed, rate, ETA) driven by the engine's progress callback."""

    def __init__(self, file: TextIO | None = None) -> None:
        self._file = file or sys.stderr
        self._bar: tqdm | None = None

    def __call__(self, event: str, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = tqdm(
                total=total, desc="blocks fetched and parsed", unit="block", file=self._file
            )
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
