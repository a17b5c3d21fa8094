"""The `/ws/alerts/` WebSocket consumer: translates between the socket and `alerts.session`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import structlog
from channels.generic.websocket import AsyncWebsocketConsumer

from alerts.limits import SubscriberLimits
from alerts.protocol import token_from_subprotocols
from alerts.session import Session
from core.redaction import redact_query_string

log = structlog.get_logger(__name__)


class AlertsConsumer(AsyncWebsocketConsumer):
    """A subscriber socket. Alerts reach it through the process's hub, not a channel of its own."""

    channel_layer_alias = None  # no per-socket channel: `alerts.hub` fans events out
    session: Session | None = None

    async def connect(self) -> None:
        query = self.scope.get("query_string", b"").decode("latin1")
        subprotocol, header_token = token_from_subprotocols(self.scope.get("subprotocols", []))
        query_token = parse_qs(query).get("token", [None])[0]
        await self.accept(subprotocol)
        log.info("subscriber_connected", query=redact_query_string(query) or None)
        self.session = Session(
            send=self._send_text,
            close=self._close,
            correlation_id=self.scope.get("correlation_id", ""),
            limits=SubscriberLimits.from_settings(),
        )
        client = self.scope.get("client") or (None, None)
        await self.session.open(
            token=query_token if query_token is not None else header_token,
            user=self.scope.get("user"),
            raw_send=self.base_send,
            session_key=getattr(self.scope.get("session"), "session_key", None),
            address=client[0],
        )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.session.receive(text_data, bytes_data)

    async def disconnect(self, code: Any) -> None:
        if self.session is not None:
            await self.session.stop()
        log.info("subscriber_disconnected", code=code)

    async def _send_text(self, text: str) -> None:
        await self.base_send({"type": "websocket.send", "text": text})

    async def _close(self, code: int) -> None:
        await self.close(code=code)
