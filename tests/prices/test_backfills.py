"""Backfill requests run against the simulated chain, with their progress in the Django database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from prices import selectors
from prices.backfills import queue_backfill, requeue_interrupted, run_backfill, run_queued_backfills
from prices.ingestion import PriceIngestion
from prices.models import BackfillRequest
from prices.store import open_writer
from simulators.chain import SimulatorServer
from tests.prices.builders import day_record
from tests.prices.upstreams import MempoolStub

pytestmark = pytest.mark.django_db
Status = BackfillRequest.Status


def single_process() -> PriceIngestion:
    return PriceIngestion(workers=1)


def test_a_range_must_not_end_before_it_starts(chain: SimulatorServer) -> None:
    day = chain.chain.days[0]
    with pytest.raises(ValueError, match="ends"):
        queue_backfill(day, day - timedelta(days=1))
    request = queue_backfill(day, day + timedelta(days=2), force=True)
    assert (request.status, request.days_total, request.force) == (Status.QUEUED, 3, True)
    assert request.percent_done == 0
    assert str(request) == f"Backfill {day}..{day + timedelta(days=2)} (queued)"


def test_queued_requests_run_to_the_end_reporting_progress(
    store_file: Path, chain: SimulatorServer, mempool: MempoolStub
) -> None:
    first, second = chain.chain.days[:2]
    with open_writer() as writer:
        writer.save_day(day_record(first), [])
    request = queue_backfill(first, second)
    seen: list[tuple[int, int, int]] = []

    def observe() -> bool:
        row = BackfillRequest.objects.get(pk=request.pk)
        seen.append((row.days_done, row.blocks_done, row.blocks_total))
        return False

    assert run_queued_backfills(observe, single_process) == 1
    request.refresh_from_db()
    assert request.status == Status.DONE
    assert (request.days_done, request.percent_done, request.next_date) == (
        2,
        100,
        second + timedelta(days=1),
    )
    assert request.current_date is None and request.finished_at >= request.started_at
    assert "1 computed (1 valid" in request.summary and "1 already valid" in request.summary
    assert request.error == ""
    assert (1, 0, 0) in seen  # after the first day
    assert any(total == 144 for _, _, total in seen)  # while the second was computed
    assert selectors.missing_price_dates(2, today=second + timedelta(days=1)) == []
    assert run_queued_backfills(lambda: False, single_process) == 0


def test_a_stopped_request_resumes_where_it_stopped(
    store_file: Path, chain: SimulatorServer, mempool: MempoolStub
) -> None:
    first, second = chain.chain.days[2:4]
    request = queue_backfill(first, second, force=True)
    calls_after_first_day = []

    def stop_inside_the_second_day() -> bool:
        if BackfillRequest.objects.get(pk=request.pk).days_done >= 1:
            calls_after_first_day.append(1)
        return len(calls_after_first_day) >= 3

    run_backfill(request, single_process(), stop_inside_the_second_day)
    request.refresh_from_db()
    assert (request.status, request.days_done, request.next_date) == (Status.QUEUED, 1, second)
    assert selectors.day_record(second) is None
    computed = selectors.day_record(first).computed_at

    run_backfill(request, single_process())
    request.refresh_from_db()
    assert (request.status, request.days_done) == (Status.DONE, 2)
    assert selectors.day_record(first).computed_at == computed  # not recomputed
    assert selectors.day_record(second).is_valid


def test_failed_days_fail_the_request_with_their_reasons(
    store_file: Path, mempool: MempoolStub, settings
) -> None:
    settings.ELECTRS_URL, settings.PRICE_SOURCE = "http://127.0.0.1:9", ("esplora",)
    settings.HTTP_RETRIES = 0
    day = selectors.utc_today() - timedelta(days=5)
    request = queue_backfill(day, day + timedelta(days=1))
    run_queued_backfills(lambda: False, single_process)
    request.refresh_from_db()
    assert request.status == Status.FAILED
    lines = request.error.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{day} failed - block source esplora")
    assert "2 failed" in request.summary


def test_an_unusable_store_fails_the_request(
    store_file: Path, chain: SimulatorServer, mempool: MempoolStub
) -> None:
    store_file.parent.mkdir(parents=True)
    store_file.write_bytes(b"not a database" * 100)
    day = chain.chain.days[0]
    request = queue_backfill(day, day)
    run_queued_backfills(lambda: False, single_process)
    request.refresh_from_db()
    assert request.status == Status.FAILED and "cannot open" in request.error


def test_requests_left_running_go_back_to_the_queue() -> None:
    day = selectors.utc_today() - timedelta(days=3)
    running = queue_backfill(day, day)
    BackfillRequest.objects.filter(pk=running.pk).update(status=Status.RUNNING)
    done = queue_backfill(day, day)
    BackfillRequest.objects.filter(pk=done.pk).update(status=Status.DONE)
    assert requeue_interrupted() == 1
    running.refresh_from_db()
    done.refresh_from_db()
    assert (running.status, done.status, done.percent_done) == (Status.QUEUED, Status.DONE, 0)
