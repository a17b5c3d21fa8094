"""Compute the on-chain price of a UTC day (or of the latest blocks): select the blocks, stream them
from a block source, parse them and run the UTXOracle v9.1 algorithm.

Block selection follows the reference exactly (spec §1): estimate the height of the day's first
block from the tip, jump until the estimate oscillates, step to the first block stamped at or after
midnight, then take consecutive blocks while their UTC day of the month stays the same.

Blocks are fetched and parsed ahead in a bounded pool (worker processes when `workers` > 1,
threads otherwise) and consumed in height order: raw blocks live only inside the workers, the
command keeps compact arrays. `compute_day_prices` prices many days through one pool, fetching the
next day's blocks while the current day is finished, so a backfill runs at full speed.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import copy_context
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
import structlog

from core.logging import current_correlation_id
from prices.utxoracle.algorithm import (
    ALGORITHM,
    InsufficientData,
    OutputWindow,
    confidence,
    estimate_price,
)
from prices.utxoracle.cloud import (
    FIRST_BLOCK_SECONDS,
    TIME_BINS,
    PriceCloud,
    price_cloud,
    seconds_per_bin,
)
from prices.utxoracle.parser import (
    DEFAULT_FILTER,
    BlockParseError,
    ParsedBlock,
    TxFilter,
    block_hash,
    parse_block,
)
from prices.utxoracle.sources import (
    BlockRef,
    BlockSource,
    BlockSourceError,
    FallbackSource,
    combined_error,
)

log = structlog.get_logger(__name__)

EARLIEST_DATE = date(2023, 12, 15)  # the reference refuses earlier dates
CONFIRMATIONS = 6
BLOCKS_PER_DAY = 144
SECONDS_PER_DAY = 86_400
LOOKUP_CHUNK = 48  # header lookups per round trip while walking through a day
STEP_CHUNK = 8  # header lookups per round trip while stepping to midnight
FETCH_THREADS = 4
AHEAD_PER_WORKER = 16  # parsed blocks in flight: enough to cover finishing a day

Progress = Callable[[str, int, int], None]
Selector = Callable[[BlockSource], list[BlockRef]]


class DateNotServable(ValueError):
    """The algorithm cannot serve this date (too early, in the future or not yet complete)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class BlockPrice:
    """Per-block detail: the median of the block's price points inside the final ±5 % window."""

    height: int
    time: int
    price: float | None
    points: int


RESULT_KEYS = (
    "date",
    "price",
    "price_rounded",
    "rough_price",
    "block_first",
    "block_last",
    "block_count",
    "output_count",
    "price_point_count",
    "deviation",
    "confidence",
    "algorithm",
    "source",
    "elapsed_s",
)


@dataclass(frozen=True)
class OracleResult:
    """The oracle's answer for one window of blocks; `to_dict()` is the fixed JSON shape."""

    date: date | None
    price: float
    price_rounded: int
    rough_price: int
    block_first: int
    block_last: int
    block_count: int
    output_count: int
    price_point_count: int
    deviation: float
    confidence: float
    algorithm: str
    source: str
    elapsed_s: float
    blocks: list[BlockPrice] = field(default_factory=list, repr=False)
    cloud: PriceCloud | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = {key: getattr(self, key) for key in RESULT_KEYS}
        data["date"] = self.date.isoformat() if self.date else None
        return data


def default_workers() -> int:
    """Parse in one worker process per core (threads only on a single core)."""
    return min(4, os.cpu_count() or 1)


def compute_day_price(
    day: date,
    source: BlockSource,
    progress: Progress | None = None,
    *,
    workers: int | None = None,
    tx_filter: TxFilter = DEFAULT_FILTER,
) -> OracleResult:
    """The UTXOracle price of a UTC day; raises DateNotServable, BlockSourceError or
    InsufficientData. A FallbackSource is tried source by source, each for the whole day."""
    return _on_each_source(source, partial(_compute_day, day, progress, workers, tx_filter))


def compute_recent_price(
    blocks: int,
    source: BlockSource,
    progress: Progress | None = None,
    *,
    workers: int | None = None,
    tx_filter: TxFilter = DEFAULT_FILTER,
) -> OracleResult:
    """The UTXOracle price of the `blocks` blocks below the tip (tip-blocks ... tip-1)."""
    if blocks < 1:
        raise DateNotServable("the recent-blocks mode needs at least one block")
    return _on_each_source(
        source,
        lambda s: _compute_one(
            s, None, lambda s: select_recent_blocks(blocks, s), progress, workers, tx_filter
        ),
    )


def compute_day_prices(
    days: Iterable[date],
    source: BlockSource,
    progress: Progress | None = None,
    *,
    workers: int | None = None,
    tx_filter: TxFilter = DEFAULT_FILTER,
) -> Iterator[tuple[date, OracleResult | Exception]]:
    """The price of each day, in order, or why it has none (DateNotServable, BlockSourceError,
    InsufficientData); a failed day does not stop the others.

    One pool of workers serves every day and fetches the next day's blocks while the current day
    is finished and handed over. A FallbackSource streams from its first source; a day that fails
    there is computed again on the others, one by one, as `compute_day_price` does.
    """
    sources = source.sources if isinstance(source, FallbackSource) else [source]
    days = list(days)
    jobs = [(day, _day_selector(day)) for day in days]
    results = _pipeline(sources[0], jobs, progress, workers, tx_filter)
    for day, (_, outcome) in zip(days, results, strict=True):
        if isinstance(outcome, BlockSourceError) and len(sources) > 1:
            log.warning("oracle_source_failed", source=sources[0].name, error=str(outcome))
            try:
                outcome = _first_success(
                    source.name,
                    sources[1:],
                    partial(_compute_day, day, progress, workers, tx_filter),
                    [outcome],
                )
            except (DateNotServable, BlockSourceError, InsufficientData) as exc:
                outcome = exc
        yield day, outcome


def _compute_day(
    day: date,
    progress: Progress | None,
    workers: int | None,
    tx_filter: TxFilter,
    source: BlockSource,
) -> OracleResult:
    return _compute_one(source, day, _day_selector(day), progress, workers, tx_filter)


def _day_selector(day: date) -> Selector:
    return lambda source: select_day_blocks(day, source)


def _on_each_source(
    source: BlockSource, run: Callable[[BlockSource], OracleResult]
) -> OracleResult:
    if not isinstance(source, FallbackSource):
        return run(source)
    return _first_success(source.name, source.sources, run, [])


def _first_success(
    name: str,
    sources: Sequence[BlockSource],
    run: Callable[[BlockSource], OracleResult],
    failures: list[BlockSourceError],
) -> OracleResult:
    """The first source's result that does not fail; one error naming every failure."""
    for candidate in sources:
        try:
            return run(candidate)
        except BlockSourceError as exc:
            log.warning("oracle_source_failed", source=candidate.name, error=str(exc))
            failures.append(exc)
    raise combined_error(name, failures, None)


def _compute_one(
    source: BlockSource,
    day: date | None,
    select: Selector,
    progress: Progress | None,
    workers: int | None,
    tx_filter: TxFilter,
) -> OracleResult:
    [(_, outcome)] = _pipeline(source, [(day, select)], progress, workers, tx_filter)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _result(
    day: date | None, refs: list[BlockRef], outputs: OutputWindow, source: str, started: float
) -> OracleResult:
    """Run the algorithm on a window's outputs (raises InsufficientData)."""
    values, block_index = outputs.outputs()
    estimate = estimate_price(values, block_index, len(refs))
    blocks = [
        BlockPrice(ref.height, ref.time, median, points)
        for ref, median, points in zip(
            refs, estimate.block_medians, estimate.block_points, strict=True
        )
    ]
    times = np.array([ref.time for ref in refs], dtype=np.int64)
    if day is not None:
        start, width = _midnight(day), SECONDS_PER_DAY // TIME_BINS
    else:
        start = int(times.min()) - FIRST_BLOCK_SECONDS
        width = seconds_per_bin(start, int(times.max()))
    cloud = price_cloud(
        estimate.points,
        estimate.point_blocks,
        times,
        estimate.price,
        estimate.deviation,
        start,
        width,
    )
    result = OracleResult(
        date=day,
        price=estimate.price,
        price_rounded=int(estimate.price),
        rough_price=estimate.rough_price,
        block_first=refs[0].height,
        block_last=refs[-1].height,
        block_count=len(refs),
        output_count=estimate.output_count,
        price_point_count=estimate.price_point_count,
        deviation=estimate.deviation,
        confidence=confidence(estimate.deviation, estimate.price_point_count),
        algorithm=ALGORITHM,
        source=source,
        elapsed_s=round(time.perf_counter() - started, 3),
        blocks=blocks,
        cloud=cloud,
    )
    log.info("oracle_price_computed", **result.to_dict())
    return result


# --- block selection ----------------------------------------------------------------------


class _Headers:
    """Header lookups with a cache, fetched in chunks to save round trips."""

    def __init__(self, source: BlockSource, tip: int) -> None:
        self.source = source
        self.tip = tip
        self.refs: dict[int, BlockRef] = {}

    def ref(self, height: int, ahead: int = 1) -> BlockRef:
        """The ref at `height`, fetching `ahead` heights in its direction (negative: backwards)."""
        if height not in self.refs:
            if not 0 <= height <= self.tip:
                raise BlockSourceError(self.source.name, height, "height outside the chain")
            end = height + ahead - 1 if ahead > 0 else height + ahead + 1
            low, high = max(0, min(height, end)), min(self.tip, max(height, end))
            wanted = [h for h in range(low, high + 1) if h not in self.refs]
            for ref in self.source.block_refs(wanted):
                self.refs[ref.height] = ref
        return self.refs[height]

    def time(self, height: int, ahead: int = 1) -> int:
        return self.ref(height, ahead).time


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _midnight(day: date) -> int:
    """The unix time at which a UTC day starts."""
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())


def _jump(block_time: int, midnight: int) -> int:
    """How many blocks a block stamped `block_time` lies after `midnight`, at 144 a day."""
    return round(BLOCKS_PER_DAY * float(block_time - midnight) / float(SECONDS_PER_DAY))


def _first_block_at(headers: _Headers, midnight: int, estimate: int) -> int:
    """The height of the first block stamped at or after `midnight`, as the reference finds it
    from a first estimate: jump by the time difference until the jumps oscillate, then step."""
    block_time = headers.time(estimate)
    jump = _jump(block_time, midnight)
    last = last_last = 0
    while jump > CONFIRMATIONS and jump != last_last:
        last_last, last = last, jump
        estimate -= jump
        block_time = headers.time(estimate)
        jump = _jump(block_time, midnight)
    if block_time > midnight:
        while block_time > midnight:
            estimate -= 1
            block_time = headers.time(estimate, -STEP_CHUNK)
        estimate += 1
    elif block_time < midnight:
        while block_time < midnight:
            estimate += 1
            block_time = headers.time(estimate, STEP_CHUNK)
    return estimate


def _same_day_run(headers: _Headers, first: int) -> list[BlockRef]:
    """The blocks from `first` on (up to the tip) whose UTC day of the month is the first's."""
    day_of_month = _utc(headers.ref(first, LOOKUP_CHUNK).time).day
    refs = []
    height = first
    while height <= headers.tip:
        ref = headers.ref(height, LOOKUP_CHUNK)
        if _utc(ref.time).day != day_of_month:
            break
        refs.append(ref)
        height += 1
    return refs


def select_day_blocks(day: date, source: BlockSource, today: date | None = None) -> list[BlockRef]:
    """The blocks of a UTC day, chosen exactly as the reference chooses them (spec §1)."""
    if day < EARLIEST_DATE:
        raise DateNotServable(
            f"{day} is before {EARLIEST_DATE}, the earliest date UTXOracle v9.1 serves"
        )
    today = today or datetime.now(UTC).date()
    if day > today:
        raise DateNotServable(f"{day} is in the future (today is {today} UTC)")
    tip = source.tip_height()
    headers = _Headers(source, tip)
    consensus = tip - CONFIRMATIONS
    latest_time = headers.time(consensus)
    latest_midnight = datetime.combine(_utc(latest_time).date(), datetime.min.time(), UTC)
    midnight = _midnight(day)
    if midnight >= latest_midnight.timestamp():
        last_day = latest_midnight.date() - timedelta(days=1)
        raise DateNotServable(
            f"{day} is not complete on this node: the price needs {CONFIRMATIONS} blocks after the"
            f" day's end (the latest servable day is {last_day})"
        )
    first = _first_block_at(headers, midnight, consensus - _jump(latest_time, midnight))
    refs = _same_day_run(headers, first)
    log.debug(
        "oracle_blocks_selected", date=day.isoformat(), first=refs[0].height, last=refs[-1].height
    )
    return refs


def select_blocks_so_far(day: date, source: BlockSource) -> list[BlockRef]:
    """The blocks of a UTC day still in progress, up to the tip: the first block stamped at or
    after its midnight is found as for a complete day, from the tip instead of 6 blocks below it;
    empty while the tip is stamped before that midnight."""
    if day < EARLIEST_DATE:
        raise DateNotServable(
            f"{day} is before {EARLIEST_DATE}, the earliest date UTXOracle v9.1 serves"
        )
    tip = source.tip_height()
    headers = _Headers(source, tip)
    midnight = _midnight(day)
    tip_time = headers.time(tip, -LOOKUP_CHUNK)
    if tip_time < midnight:
        return []
    first = _first_block_at(headers, midnight, tip - max(0, _jump(tip_time, midnight)))
    if _utc(headers.time(first)).date() != day:
        return []  # no block is stamped on that day

    return _same_day_run(headers, first)


def select_recent_blocks(blocks: int, source: BlockSource) -> list[BlockRef]:
    """The `blocks` blocks below the tip: tip-blocks ... tip-1 (the reference's -rb mode)."""
    tip = source.tip_height()
    if blocks > tip:
        raise DateNotServable(f"the chain has only {tip} blocks below its tip")
    refs: list[BlockRef] = []
    for start in range(tip - blocks, tip, LOOKUP_CHUNK):
        refs += source.block_refs(range(start, min(start + LOOKUP_CHUNK, tip)))
    return refs


# --- streaming fetch and parse ------------------------------------------------------------


def load_block(
    source: BlockSource, ref: BlockRef, tx_filter: TxFilter = DEFAULT_FILTER
) -> ParsedBlock:
    """Fetch one block, check that it is the block asked for, and parse it."""
    raw = source.raw_block(ref)
    try:
        if block_hash(raw) != ref.hash:
            raise BlockSourceError(
                source.name, ref.height, "the block's bytes do not hash to its hash"
            )
        return parse_block(raw, tx_filter)
    except BlockParseError as exc:
        raise BlockSourceError(source.name, ref.height, f"corrupt block: {exc}") from None


_worker: tuple[BlockSource, TxFilter] | None = None


def _init_worker(
    source: BlockSource, tx_filter: TxFilter, correlation_id: str | None
) -> None:  # pragma: no cover - runs in worker processes
    global _worker
    _worker = (source, tx_filter)
    if correlation_id:
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)


def _load_in_worker(ref: BlockRef) -> ParsedBlock:  # pragma: no cover - runs in worker processes
    assert _worker is not None
    return load_block(_worker[0], ref, _worker[1])


@contextmanager
def _block_pool(
    source: BlockSource, tx_filter: TxFilter = DEFAULT_FILTER, workers: int | None = None
) -> Iterator[tuple[Callable[[BlockRef], Future[ParsedBlock]], int]]:
    """`submit(ref)`, which fetches and parses a block in the pool, and how many blocks to keep
    in flight so that every worker always has the next one."""
    workers = default_workers() if workers is None else workers
    executor: Executor
    if workers > 1:
        executor = ProcessPoolExecutor(
            workers,
            initializer=_init_worker,
            initargs=(source, tx_filter, current_correlation_id()),
        )

        def submit(ref: BlockRef) -> Future[ParsedBlock]:
            return executor.submit(_load_in_worker, ref)

        ahead = AHEAD_PER_WORKER * workers
    else:
        executor = ThreadPoolExecutor(FETCH_THREADS)

        def submit(ref: BlockRef) -> Future[ParsedBlock]:
            return executor.submit(copy_context().run, load_block, source, ref, tx_filter)

        ahead = 2 * FETCH_THREADS
    try:
        yield submit, ahead
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


class _Window:
    """One day (or the recent blocks) while its blocks stream in; the first failure ends it."""

    def __init__(
        self, day: date | None, source: BlockSource, select: Selector, tx_filter: TxFilter
    ) -> None:
        self.day = day
        self.started = time.perf_counter()
        self.outputs = OutputWindow(tx_filter)
        self.error: Exception | None = None
        self.refs: list[BlockRef] = []
        try:
            source.check_ready()  # mainnet and synced, before any block is asked for
            self.refs = select(source)
            if self.refs:
                source.check_keeps(self.refs[0].height)
        except (DateNotServable, BlockSourceError) as exc:
            self.error = exc
        self.submitted = 0
        self.taken = 0

    @property
    def complete(self) -> bool:
        return self.taken == self.submitted and (
            self.submitted == len(self.refs) or self.error is not None
        )

    def take(self, future: Future[ParsedBlock]) -> None:
        """Add the next block, or record why it failed (blocks after a failure are skipped)."""
        self.taken += 1
        if future.cancelled() or self.error is not None:
            return
        try:
            self.outputs.add(future.result())
        except BlockSourceError as exc:
            self.error = exc

    def outcome(self, source: str) -> OracleResult | Exception:
        if self.error is not None:
            return self.error
        try:
            return _result(self.day, self.refs, self.outputs, source, self.started)
        except InsufficientData as exc:
            return exc


def _pipeline(
    source: BlockSource,
    jobs: Iterable[tuple[date | None, Selector]],
    progress: Progress | None,
    workers: int | None,
    tx_filter: TxFilter,
) -> Iterator[tuple[date | None, OracleResult | Exception]]:
    """Each job's result, or why it failed, in order.

    Blocks are submitted to one pool in height order, across jobs, and taken back in the same
    order; a job's blocks are selected when the previous job's last block has been submitted, so
    the pool parses the next job while the current one is finished and handed over.
    """
    windows: deque[_Window] = deque()
    pending: deque[tuple[_Window, Future[ParsedBlock]]] = deque()

    def report() -> None:
        if progress and windows and windows[0].refs:
            progress("blocks", windows[0].taken, len(windows[0].refs))

    def take_next() -> None:
        window, future = pending.popleft()
        window.take(future)
        if window.error is not None:
            for owner, other in pending:
                if owner is window:
                    other.cancel()
        report()

    def finished() -> Iterator[tuple[date | None, OracleResult | Exception]]:
        while windows and windows[0].complete:
            window = windows.popleft()
            yield window.day, window.outcome(source.name)
            report()

    with _block_pool(source, tx_filter, workers) as (submit, ahead):
        for day, select in jobs:
            window = _Window(day, source, select, tx_filter)
            windows.append(window)
            if len(windows) == 1:
                report()
            for ref in window.refs:
                if window.error is not None:
                    break
                pending.append((window, submit(ref)))
                window.submitted += 1
                if len(pending) >= ahead:
                    take_next()
                    yield from finished()
            yield from finished()
        while pending:
            take_next()
            yield from finished()


# --- the day in progress ------------------------------------------------------------------


class DayInProgress:
    """The blocks of a UTC day still in progress and their outputs, kept between updates so that
    each update fetches and parses only the blocks that are new (all of them again only after a
    reorganisation of the blocks already taken)."""

    def __init__(self, day: date, tx_filter: TxFilter = DEFAULT_FILTER) -> None:
        self.day = day
        self.tx_filter = tx_filter
        self.refs: list[BlockRef] = []
        self.outputs = OutputWindow(tx_filter)

    def update(self, source: BlockSource) -> bool:
        """Take the day's blocks up to the tip; True when the blocks changed. A FallbackSource is
        tried source by source; raises DateNotServable or BlockSourceError."""
        if not isinstance(source, FallbackSource):
            return self._update(source)
        failures: list[BlockSourceError] = []
        for candidate in source.sources:
            try:
                return self._update(candidate)
            except BlockSourceError as exc:
                log.warning("oracle_source_failed", source=candidate.name, error=str(exc))
                failures.append(exc)
        raise combined_error(source.name, failures, None)

    def result(self, source: str) -> OracleResult:
        """The price of the blocks taken so far (raises InsufficientData)."""
        if not self.refs:
            raise InsufficientData(f"no block of {self.day} yet")
        return _result(self.day, self.refs, self.outputs, source, time.perf_counter())

    def _update(self, source: BlockSource) -> bool:
        source.check_ready()
        tip = source.tip_height()
        reorganised = bool(self.refs) and not self._still_on(source, tip)
        if reorganised:
            log.info(
                "oracle_day_reorganised", date=self.day.isoformat(), height=self.refs[-1].height
            )
            self.refs, self.outputs = [], OutputWindow(self.tx_filter)
        if not self.refs:
            new = select_blocks_so_far(self.day, source)
            if new:
                source.check_keeps(new[0].height)
        else:
            new = self._following(source, tip)
        self._take(source, new)
        return reorganised or bool(new)

    def _still_on(self, source: BlockSource, tip: int) -> bool:
        """Whether the last block taken is still on the chain whose tip is `tip`."""
        last = self.refs[-1]
        return last.height <= tip and source.block_ref(last.height).hash == last.hash

    def _following(self, source: BlockSource, tip: int) -> list[BlockRef]:
        """The blocks after the last one taken, up to the tip, while they are of the same day."""
        day_of_month = _utc(self.refs[0].time).day
        new: list[BlockRef] = []
        for start in range(self.refs[-1].height + 1, tip + 1, LOOKUP_CHUNK):
            for ref in source.block_refs(range(start, min(start + LOOKUP_CHUNK, tip + 1))):
                if _utc(ref.time).day != day_of_month:
                    return new
                new.append(ref)
        return new

    def _take(self, source: BlockSource, refs: list[BlockRef]) -> None:
        """Fetch and add blocks in order; a failure keeps those added before it."""
        if not refs:
            return
        with _block_pool(source, self.tx_filter, workers=1) as (submit, ahead):
            pending: deque[tuple[BlockRef, Future[ParsedBlock]]] = deque()
            for ref in refs:
                pending.append((ref, submit(ref)))
                if len(pending) >= ahead:
                    self._add(*pending.popleft())
            while pending:
                self._add(*pending.popleft())

    def _add(self, ref: BlockRef, future: Future[ParsedBlock]) -> None:
        self.outputs.add(future.result())
        self.refs.append(ref)
