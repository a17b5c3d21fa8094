"""Progress display of the price commands: a bar for the days and one for the blocks of the day
being computed on a terminal; without one, a plain line per day (logs and cron mails stay
readable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

from prices.ingestion import DayOutcome


class CommandProgress:
    """`day(outcome)` after each day, `blocks(event, done, total)` while a day is computed."""

    def __init__(
        self, days: int, write_line: Callable[[str], object], err: TextIO, *, bars: bool
    ) -> None:
        self.write_line = write_line
        self.err = err
        self._days = tqdm(total=days, desc="days", unit="day", file=err, disable=not bars)
        self._blocks = tqdm(
            desc="blocks", unit="block", file=err, position=1, leave=False, disable=not bars
        )

    def blocks(self, event: str, done: int, total: int) -> None:
        if self._blocks.total != total:
            self._blocks.reset(total=total)
        self._blocks.n = done
        self._blocks.refresh()

    def day(self, outcome: DayOutcome) -> None:
        with tqdm.external_write_mode(file=self.err):
            self.write_line(outcome.line())
        self._days.update(1)

    def close(self) -> None:
        self._blocks.close()
        self._days.close()
