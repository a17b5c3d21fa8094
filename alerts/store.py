"""Store whale alerts and their status changes; read them back for replay, REST and the relay.

Synchronous ORM code: async callers go through `core.db.run_orm`. Alerts are written by
one worker, one at a time, and an existing txid is checked before inserting, so ids come out
consecutive and in commit order (what replay and gap detection rely on).
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.utils import timezone

from alerts.detector import SATS_PER_BTC, Alert
from alerts.models import AlertStatus, WhaleAlert


def save_alert(alert: Alert, now: datetime | None = None) -> WhaleAlert | None:
    """Store a new alert; None when its txid is stored already (alerts dedupe by txid)."""
    if WhaleAlert.objects.filter(txid=alert.txid).exists():
        return None
    try:
        with transaction.atomic():
            return WhaleAlert.objects.create(
                txid=alert.txid,
                value_sats=alert.value_sats,
                usd_value=alert.usd_value,
                usd_source=alert.usd_source,
                fee=alert.fee,
                vsize=alert.vsize,
                fee_rate=alert.fee_rate,
                effective_fee_rate=alert.effective_fee_rate,
                rbf=alert.rbf,
                urgency=alert.urgency,
                expected_confirmation=alert.expected_confirmation,
                input_count=alert.input_count,
                output_count=alert.output_count,
                largest_output_sats=alert.largest_output_sats,
                first_seen=alert.first_seen,
                created_at=now or timezone.now(),
            )
    except IntegrityError:  # another worker stored it between the check and the insert
        return None


def mark_replaced(txid: str, by: str, now: datetime | None = None) -> WhaleAlert | None:
    """Record that an alert was replaced (RBF); the changed alert, else None.

    A dropped alert can still turn out replaced: the backend may report the replacement a few
    updates after the transaction left the mempool."""
    now = now or timezone.now()
    unsettled = (AlertStatus.PENDING, AlertStatus.DROPPED)
    changed = WhaleAlert.objects.filter(txid=txid, status__in=unsettled).update(
        status=AlertStatus.REPLACED, replaced_by=by, status_changed_at=now
    )
    return WhaleAlert.objects.get(txid=txid) if changed else None


def mark_confirmed(
    txid: str, block_height: int | None, block_time: datetime | None, now: datetime | None = None
) -> WhaleAlert | None:
    """Record that a pending (or dropped) alert was mined; the changed alert, else None."""
    now = now or timezone.now()
    unsettled = (AlertStatus.PENDING, AlertStatus.DROPPED)
    changed = WhaleAlert.objects.filter(txid=txid, status__in=unsettled).update(
        status=AlertStatus.CONFIRMED,
        block_height=block_height,
        confirmed_at=block_time or now,
        status_changed_at=now,
    )
    return WhaleAlert.objects.get(txid=txid) if changed else None


def mark_dropped(txid: str, now: datetime | None = None) -> WhaleAlert | None:
    """Record that a pending alert left the mempool without a block; the changed alert, else
    None."""
    now = now or timezone.now()
    changed = WhaleAlert.objects.filter(txid=txid, status=AlertStatus.PENDING).update(
        status=AlertStatus.DROPPED, status_changed_at=now
    )
    return WhaleAlert.objects.get(txid=txid) if changed else None


def pending_txids() -> set[str]:
    return set(WhaleAlert.objects.filter(status=AlertStatus.PENDING).values_list("txid", flat=True))


def latest_alert_id() -> int:
    return WhaleAlert.objects.order_by("-id").values_list("id", flat=True).first() or 0


def alerts_after(after_id: int, limit: int) -> list[WhaleAlert]:
    """Up to `limit` alerts with an id above `after_id`, oldest first."""
    return list(WhaleAlert.objects.filter(id__gt=after_id).order_by("id")[:limit])


def prune_alerts(before: datetime, batch: int = 1000) -> int:
    """Delete the alerts stored before `before`, oldest first, `batch` at a time (short write
    transactions beside the feed's); how many were deleted. Ids are never reused, so subscribers
    resuming from a deleted id simply continue with the oldest kept."""
    deleted = 0
    while True:
        old = WhaleAlert.objects.filter(created_at__lt=before).order_by("id")
        ids = list(old.values_list("id", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += WhaleAlert.objects.filter(id__in=ids).delete()[0]


def changed_after(since: datetime, limit: int) -> list[WhaleAlert]:
    """Alerts whose status changed at or after `since`, in the order of the changes."""
    rows = WhaleAlert.objects.filter(status_changed_at__gte=since)
    return list(rows.order_by("status_changed_at", "id")[:limit])


def search_alerts(
    *,
    since: datetime | None,
    min_btc: float | None = None,
    rbf_only: bool = False,
    status: str | None = None,
    since_id: int | None = None,
    before_id: int | None = None,
) -> QuerySet[WhaleAlert]:
    """Alerts stored since a time (None: any time), optionally filtered; newest first, or oldest
    first from `since_id` (ids above it); `before_id` keeps the ids below it."""
    rows = (
        WhaleAlert.objects.all()
        if since is None
        else WhaleAlert.objects.filter(created_at__gte=since)
    )
    if since_id is not None:
        rows = rows.filter(id__gt=since_id)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    if min_btc is not None:
        rows = rows.filter(value_sats__gte=round(min_btc * SATS_PER_BTC))
    if rbf_only:
        rows = rows.filter(rbf=True)
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("id" if since_id is not None else "-id")


def count_by_status() -> dict[str, int]:
    """How many stored alerts are in each status (every status, 0 included)."""
    counts = {choice: 0 for choice in AlertStatus.values}
    for row in WhaleAlert.objects.values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    return counts


def summary(since: datetime) -> dict[str, object]:
    """Count, total BTC, average fee rate, RBF count and counts by status since a time."""
    rows = WhaleAlert.objects.filter(created_at__gte=since)
    totals = rows.aggregate(
        count=Count("id"),
        value_sats=Sum("value_sats"),
        avg_fee_rate=Avg("fee_rate"),
        rbf_count=Count("id", filter=Q(rbf=True)),
    )
    by_status = {choice: 0 for choice in AlertStatus.values}
    for row in rows.values("status").annotate(n=Count("id")):
        by_status[row["status"]] = row["n"]
    avg = totals["avg_fee_rate"]
    return {
        "count": totals["count"],
        "total_btc": (totals["value_sats"] or 0) / SATS_PER_BTC,
        "avg_fee_rate": None if avg is None else round(avg, 2),
        "rbf_count": totals["rbf_count"],
        "by_status": by_status,
    }
