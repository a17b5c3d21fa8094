"""The subscriber WebSocket protocol: reading client messages and writing server messages.

Pure functions over JSON text; the session (`alerts.session`) decides what to do with them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from alerts.detector import MAX_MONEY_SATS, SATS_PER_BTC
from alerts.events import AlertEvent
from core.api import iso

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_LARGE = 4408
CLOSE_LAGGING = 4409
CLOSE_RATE_LIMITED = 4429  # too many messages a second, or too many sockets
BEARER_PREFIX = "bearer."
PROTOCOL_NAME = "alerts.v1"
CLIENT_TYPES = ("auth", "subscribe", "ping")
_SUBSCRIBE_FIELDS = {"type", "min_btc", "min_usd", "rbf_only", "since_id", "batch", "prices"}
BATCH_MAX_ALERTS = 200  # items in one `whale_alerts` frame (about 150 KB)
_MAX_BTC = MAX_MONEY_SATS / SATS_PER_BTC


class ProtocolError(Exception):
    """A client message the server answers with `{"type": "error", code, message}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Filters:
    """What a subscriber asked for; alerts that do not match are not sent to it."""

    min_btc: float = 0.0
    min_usd: float | None = None
    rbf_only: bool = False

    def matches(self, event: AlertEvent) -> bool:
        if event.value_sats < self.min_btc * SATS_PER_BTC:
            return False
        if self.min_usd is not None and (event.usd_value is None or event.usd_value < self.min_usd):
            return False
        return event.rbf or not self.rbf_only


@dataclass(frozen=True, slots=True)
class Subscription:
    filters: Filters
    since_id: int | None
    batch: bool = False  # alerts and updates come in `whale_alerts` frames
    prices: bool = False  # price_today and price_day messages too


def parse_client_message(text: str) -> dict[str, Any]:
    """A client message as a dict with a known `type`."""
    try:
        message = json.loads(text)
    except ValueError:
        raise ProtocolError("bad_json", "the message is not valid JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("bad_message", "a message is a JSON object with a string 'type'")
    if message["type"] not in CLIENT_TYPES:
        raise ProtocolError(
            "unknown_type",
            f"unknown type {message['type'][:40]!r}; expected one of {', '.join(CLIENT_TYPES)}",
        )
    return message


def parse_subscription(message: dict[str, Any]) -> Subscription:
    """The filters and replay point of a `subscribe` message."""
    unknown = sorted(set(message) - _SUBSCRIBE_FIELDS)
    if unknown:
        raise ProtocolError("bad_field", f"unknown field(s): {', '.join(unknown)[:100]}")
    min_btc = _amount(message.get("min_btc"), "min_btc", _MAX_BTC)
    min_usd = _amount(message.get("min_usd"), "min_usd", 1e15)
    rbf_only = message.get("rbf_only", False)
    if not isinstance(rbf_only, bool):
        raise ProtocolError("bad_field", "rbf_only must be true or false")
    since_id = message.get("since_id")
    if since_id is not None and (type(since_id) is not int or since_id < 0):
        raise ProtocolError("bad_field", "since_id must be an integer >= 0")
    batch, prices = message.get("batch", False), message.get("prices", False)
    for name, value in (("batch", batch), ("prices", prices)):
        if not isinstance(value, bool):
            raise ProtocolError("bad_field", f"{name} must be true or false")
    return Subscription(Filters(min_btc or 0.0, min_usd, rbf_only), since_id, batch, prices)


def parse_auth(message: dict[str, Any]) -> object:
    """The token of an `auth` message (checked by the caller)."""
    return message.get("token")


def token_from_subprotocols(offered: list[str]) -> tuple[str | None, str | None]:
    """(subprotocol to accept, token) from `Sec-WebSocket-Protocol: bearer.<token>`.

    Clients may also offer `alerts.v1`, which is then the one accepted, so the token is not
    echoed back in the response header.
    """
    token = next((p[len(BEARER_PREFIX) :] for p in offered if p.startswith(BEARER_PREFIX)), None)
    if PROTOCOL_NAME in offered:
        return PROTOCOL_NAME, token
    return (BEARER_PREFIX + token if token is not None else None), token


def welcome(correlation_id: str, last_alert_id: int) -> str:
    return _dump(
        type="welcome",
        correlation_id=correlation_id,
        server_time=server_time(),
        last_alert_id=last_alert_id,
    )


def subscribed(subscription: Subscription) -> str:
    return _dump(
        type="subscribed",
        filters=asdict(subscription.filters),
        since_id=subscription.since_id,
        batch=subscription.batch,
        prices=subscription.prices,
    )


def batch(frames: Sequence[str]) -> str:
    """One `whale_alerts` frame carrying alert and update frames (already encoded), in order."""
    return '{"type":"whale_alerts","alerts":[' + ",".join(frames) + "]}"


def replay(since_id: int, last_id: int, *, more: bool) -> str:
    """The end of a replay: `last_id` is the last stored alert it passed; with `more`, nothing
    follows until the client subscribes again with `since_id: last_id`."""
    return _dump(type="replay", since_id=since_id, last_id=last_id, more=more)


def pong() -> str:
    return _dump(type="pong", server_time=server_time())


def heartbeat(last_id: int) -> str:
    return _dump(type="heartbeat", server_time=server_time(), last_id=last_id)


def error(code: str, message: str) -> str:
    return _dump(type="error", code=code, message=message)


def lag(last_id: int) -> str:
    return _dump(type="lag", last_id=last_id)


def server_time() -> str | None:
    return iso(datetime.now(UTC))


def _amount(value: object, name: str, maximum: float) -> float | None:
    if value is None:
        return None
    if type(value) not in (int, float) or not math.isfinite(value) or not 0 <= value <= maximum:  # type: ignore[arg-type,operator]
        raise ProtocolError("bad_field", f"{name} must be a number from 0 to {maximum:g}")
    return float(value)  # type: ignore[arg-type]


def _dump(**fields: Any) -> str:
    return json.dumps(fields, separators=(",", ":"))
