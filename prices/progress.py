"""Progress display of the price commands: on a terminal, a bar for the days (done of the total,
time left, blocks per second) and one for the blocks of the day being computed; without one, a
plain line per day with the same figures (logs and cron mails stay readable)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import TextIO

from tqdm import tqdm

from prices.ingestion import DayOutcome


class CommandProgress:
    """`day(outcome)` after each day, `blocks(event, done, total)` while a day is computed."""

    def __init__(
        self,
        days: int,
        write_line: Callable[[str], object],
        err: TextIO,
        *,
        bars: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.write_line = write_line
        self.err = err
        self.clock = clock
        self.started = clock()
        self.days_total = days
        self.days_done = 0
        self.blocks_done = 0  # over the whole run
        self._day_blocks = 0  # of the day being computed
        self._days = tqdm(total=days, desc="days", unit="day", file=err, disable=not bars)
        self._blocks = tqdm(
            desc="blocks", unit="block", file=err, position=1, leave=False, disable=not bars
        )

    def blocks(self, event: str, done: int, total: int) -> None:
        if done < self._blocks.n or self._blocks.total != total:  # the next day
            self._blocks.reset(total=total)
        self._blocks.update(done - self._blocks.n)
        self.blocks_done += done - self._day_blocks
        self._day_blocks = done
        self._days.set_postfix_str(f"{self.blocks_per_second():.0f} blocks/s", refresh=False)

    def day(self, outcome: DayOutcome) -> None:
        self.days_done += 1
        self._day_blocks = 0
        with tqdm.external_write_mode(file=self.err):
            self.write_line(f"{outcome.line()} [{self.status()}]")
        self._days.update(1)

    def blocks_per_second(self) -> float:
        elapsed = self.clock() - self.started
        return self.blocks_done / elapsed if elapsed > 0 else 0.0

    def status(self) -> str:
        """E.g. `12/30 days, 160 blocks/s, ETA 0:00:14` (the time left at the mean pace so far)."""
        elapsed = self.clock() - self.started
        left = elapsed / self.days_done * (self.days_total - self.days_done)
        return (
            f"{self.days_done}/{self.days_total} days, {self.blocks_per_second():.0f} blocks/s,"
            f" ETA {timedelta(seconds=round(left))}"
        )

    def close(self) -> None:
        self._blocks.close()
        self._days.close()
