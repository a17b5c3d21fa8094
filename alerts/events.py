"""What subscribers are told about an alert, and how it travels through the channel layer.

An `AlertEvent` carries the frame text, serialised once, plus the few values subscriber filters
need and the alert's status (the hub hands each status change out once), so a web process fans one
event out to many sockets without re-encoding it per client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer

from alerts.models import WhaleAlert
from core.api import iso

GROUP = "whale_alerts"
MESSAGE_TYPE = "whale.event"
ALERT = "whale_alert"
UPDATE = "whale_update"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """A new alert (`whale_alert`) or a status change (`whale_update`) of alert `id`."""

    kind: str
    id: int
    value_sats: int
    usd_value: float | None
    rbf: bool
    frame: str
    status: str = ""

    def as_message(self) -> dict[str, Any]:
        """The channel layer message."""
        return {
            "type": MESSAGE_TYPE,
            "kind": self.kind,
            "id": self.id,
            "value_sats": self.value_sats,
            "usd_value": self.usd_value,
            "rbf": self.rbf,
            "frame": self.frame,
            "status": self.status,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> AlertEvent:
        return cls(
            kind=message["kind"],
            id=message["id"],
            value_sats=message["value_sats"],
            usd_value=message["usd_value"],
            rbf=message["rbf"],
            frame=message["frame"],
            status=message.get("status", ""),
        )


def alert_data(row: WhaleAlert) -> dict[str, Any]:
    """The alert fields subscribers and REST clients see."""
    return {
        "txid": row.txid,
        "btc_value": row.btc_value,
        "usd_value": row.usd_value,
        "usd_source": row.usd_source,
        "fee": row.fee,
        "vsize": row.vsize,
        "fee_rate": row.fee_rate,
        "effective_fee_rate": row.effective_fee_rate,
        "rbf": row.rbf,
        "urgency": row.urgency,
        "expected_confirmation": row.expected_confirmation,
        "input_count": row.input_count,
        "output_count": row.output_count,
        "largest_output_btc": row.largest_output_btc,
        "first_seen": iso(row.first_seen),
        "status": row.status,
        "replaced_by": row.replaced_by,
        "confirmed_at": iso(row.confirmed_at),
        "block_height": row.block_height,
    }


def event_for(row: WhaleAlert, kind: str = ALERT) -> AlertEvent:
    """The event for a stored alert (its current status) or for its latest status change."""
    timestamp = row.created_at if kind == ALERT else row.status_changed_at
    frame = {"type": kind, "id": row.id, "data": alert_data(row), "timestamp": iso(timestamp)}
    return AlertEvent(
        kind=kind,
        id=row.id,
        value_sats=row.value_sats,
        usd_value=row.usd_value,
        rbf=row.rbf,
        frame=json.dumps(frame, separators=(",", ":")),
        status=row.status,
    )


async def publish(event: AlertEvent) -> None:
    """Send an event to every web process's subscribers (after it was stored)."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(GROUP, event.as_message())
