"""Today so far: the worker's provisional price of the UTC day in progress.

Every PRICE_TODAY_POLL_SECONDS (default 60) the `today` loop asks the block source for its tip.
When a block of the day arrived, it takes the new blocks (`DayInProgress` keeps the earlier ones)
and, once the day has PRICE_TODAY_MIN_BLOCKS (default 12, about two hours), prices them with the
same algorithm as a complete day. The result goes to the store's one provisional row, marked with
its block count, apart from the daily series: it never enters `historical`, `comparison`, the gaps
or the health checks. Before that many blocks the row says only how many there are.

The validity rules are the day's, with the output minimum taken pro rata of the blocks so far
(PRICE_MIN_OUTPUTS * blocks / 144). When the day is complete (midnight + 6 blocks) the scheduler
computes it as usual; saving that final row deletes the provisional one, and the loop moves on to
the new day.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from datetime import UTC, date, datetime

import structlog
from django.conf import settings

from core.logging import correlation_scope
from core.worker import wait_or_stop
from prices.selectors import provisional_record, utc_today
from prices.store import ProvisionalRecord, StoreUnavailable, open_writer, utc_now
from prices.utxoracle.algorithm import ALGORITHM, InsufficientData
from prices.utxoracle.engine import DateNotServable, DayInProgress
from prices.utxoracle.sources import BlockSource, BlockSourceError, block_source_from_settings
from prices.validity import ValidityRules

log = structlog.get_logger(__name__)

BLOCKS_PER_DAY = 144


class TodayTracker:
    """The day in progress and what was last saved of it; one per worker."""

    def __init__(
        self, source: BlockSource | None = None, rules: ValidityRules | None = None
    ) -> None:
        self.source = source or block_source_from_settings()
        self.rules = rules or ValidityRules.from_settings()
        self.day: DayInProgress | None = None
        self.saved: ProvisionalRecord | None = None
        self.behind_logged = False

    def update(self, today: date, min_blocks: int | None = None) -> ProvisionalRecord | None:
        """Take the day's new blocks and save its provisional row; the row when it changed.

        Raises DateNotServable or BlockSourceError (the source), StoreUnavailable (the store).
        """
        if self.day is None or self.day.day != today:
            self.day, self.saved, self.behind_logged = DayInProgress(today), None, False
        if not self.day.update(self.source) and self.saved is not None:
            return None
        if self.saved is None and self._source_is_behind(today, len(self.day.refs)):
            return None
        record = self._record(settings.PRICE_TODAY_MIN_BLOCKS if min_blocks is None else min_blocks)
        with open_writer() as writer:
            if not writer.save_provisional(record):
                return None  # the day is complete and its final row is stored
        self.saved = record
        log.info(
            "price_today_saved",
            date=today.isoformat(),
            blocks=record.block_count,
            price=record.price,
            valid=record.is_valid,
        )
        return record

    def _source_is_behind(self, today: date, blocks: int) -> bool:
        """Whether the stored row of the day counts more blocks than the source shows now: this
        worker started again while its source (restarted, or lagging behind the one that was
        used) has not caught up. That row is kept until the source reaches its blocks."""
        stored = provisional_record()
        if stored is None or stored.date != today or stored.block_count <= blocks:
            return False
        if not self.behind_logged:
            self.behind_logged = True
            log.info(
                "price_today_kept",
                date=today.isoformat(),
                stored_blocks=stored.block_count,
                source_blocks=blocks,
            )
        return True

    def _record(self, min_blocks: int) -> ProvisionalRecord:
        day = self.day
        assert day is not None
        refs = day.refs
        record = ProvisionalRecord(
            date=day.day,
            block_count=len(refs),
            block_first=refs[0].height if refs else None,
            block_last=refs[-1].height if refs else None,
            last_block_time=_naive(refs[-1].time) if refs else None,
            price=None,
            output_count=None,
            price_point_count=None,
            deviation=None,
            confidence=None,
            is_valid=None,
            invalid_reason=None,
            algorithm=ALGORITHM,
            source=self.source.name,
            computed_at=utc_now(),
        )
        if len(refs) < min_blocks:
            return record
        try:
            result = day.result(self.source.name)
        except InsufficientData as exc:
            return record._replace(is_valid=False, invalid_reason=str(exc))
        rules = replace(
            self.rules, min_outputs=math.ceil(self.rules.min_outputs * len(refs) / BLOCKS_PER_DAY)
        )
        problems = rules.problems(result.price, result.output_count, result.deviation)
        return record._replace(
            price=result.price,
            output_count=result.output_count,
            price_point_count=result.price_point_count,
            deviation=result.deviation,
            confidence=result.confidence,
            is_valid=not problems,
            invalid_reason="; ".join(problems) or None,
            algorithm=result.algorithm,
            source=result.source,
        )


def _naive(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


async def loop(stop: asyncio.Event) -> None:
    """Keep the provisional price of the day in progress up to date until `stop` is set."""
    tracker = await asyncio.to_thread(TodayTracker)
    while not stop.is_set():
        with correlation_scope(task="price_today"):
            try:
                await asyncio.to_thread(tracker.update, utc_today())
            except (DateNotServable, BlockSourceError, StoreUnavailable) as exc:
                log.warning("price_today_failed", reason=str(exc))
        if await wait_or_stop(stop, settings.PRICE_TODAY_POLL_SECONDS):
            return
