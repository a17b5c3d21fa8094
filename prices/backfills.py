"""Backfill requests: queued from the admin, run by the worker, progress reported on the request."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta

import structlog
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from core.redaction import redact
from prices.ingestion import DayOutcome, Outcome, PriceIngestion, RunSummary, Stopped
from prices.models import BackfillRequest

log = structlog.get_logger(__name__)

Status = BackfillRequest.Status
PROGRESS_EVERY_S = 1.0
MAX_ERROR_LINES = 10


def queue_backfill(
    first: date, last: date, *, force: bool = False, user: AbstractBaseUser | None = None
) -> BackfillRequest:
    """Queue the days from `first` to `last` for the worker."""
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    return BackfillRequest.objects.create(
        date_from=first,
        date_to=last,
        force=force,
        requested_by=user,
        days_total=(last - first).days + 1,
    )


def requeue_interrupted() -> int:
    """Put requests left running by a worker that died back in the queue; return how many."""
    return BackfillRequest.objects.filter(status=Status.RUNNING).update(status=Status.QUEUED)


class _Reporter:
    """Writes a running request's progress to the database, at most once a second per block."""

    def __init__(self, request: BackfillRequest, should_stop: Callable[[], bool]) -> None:
        self.request = request
        self.should_stop = should_stop
        self._last_write = 0.0

    def save(self, **fields: object) -> None:
        BackfillRequest.objects.filter(pk=self.request.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.request, name, value)

    def blocks(self, event: str, done: int, total: int) -> None:
        if self.should_stop():
            raise Stopped("stop requested")
        now = time.monotonic()
        if done == total or now - self._last_write >= PROGRESS_EVERY_S:
            self._last_write = now
            self.save(blocks_done=done, blocks_total=total)

    def day(self, outcome: DayOutcome) -> None:
        self.save(
            days_done=self.request.days_done + 1,
            next_date=outcome.day + timedelta(days=1),
            current_date=outcome.day + timedelta(days=1),
            blocks_done=0,
            blocks_total=0,
        )


def run_backfill(
    request: BackfillRequest,
    ingestion: PriceIngestion | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> BackfillRequest:
    """Run one request to the end (done or failed), or back to the queue when stopped."""
    first = max(request.date_from, request.next_date or request.date_from)
    reporter = _Reporter(request, should_stop)
    reporter.save(
        status=Status.RUNNING,
        started_at=request.started_at or timezone.now(),
        current_date=first,
        error="",
    )
    log.info("backfill_started", request=request.pk, first=str(first), last=str(request.date_to))
    try:
        summary = (ingestion or PriceIngestion()).run(
            first,
            request.date_to,
            force=request.force,
            on_day=reporter.day,
            progress=reporter.blocks,
            should_stop=should_stop,
        )
    except Stopped:
        reporter.save(status=Status.QUEUED, blocks_done=0, blocks_total=0)
        log.info("backfill_interrupted", request=request.pk, resumes_at=str(request.next_date))
        return request
    except Exception as exc:
        reporter.save(status=Status.FAILED, finished_at=timezone.now(), error=redact(str(exc)))
        log.exception("backfill_failed", request=request.pk)
        return request
    _finish(reporter, summary)
    return request


def _finish(reporter: _Reporter, summary: RunSummary) -> None:
    failed = summary.failed
    reporter.save(
        status=Status.FAILED if failed else Status.DONE,
        finished_at=timezone.now(),
        current_date=None,
        summary=summary.line(),
        error=redact("\n".join(o.line() for o in failed[:MAX_ERROR_LINES])),
    )
    log.info(
        "backfill_finished",
        request=reporter.request.pk,
        summary=summary.line(),
        failed=len(failed),
        valid=summary.counts[Outcome.VALID],
    )


def run_queued_backfills(
    should_stop: Callable[[], bool] = lambda: False,
    ingestion_factory: Callable[[], PriceIngestion] = PriceIngestion,
) -> int:
    """Run the queued requests, oldest first, until none is left or a stop is requested."""
    ran = 0
    while not should_stop():
        request = (
            BackfillRequest.objects.filter(status=Status.QUEUED)
            .order_by("created_at", "id")
            .first()
        )
        if request is None:
            break
        run_backfill(request, ingestion_factory(), should_stop)
        ran += 1
    return ran
