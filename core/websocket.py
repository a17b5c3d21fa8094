"""ASGI middleware for WebSocket connections: correlation IDs and the Origin check."""

from __future__ import annotations

from typing import Any

import structlog
from channels.security.websocket import OriginValidator
from django.conf import settings

from core.logging import new_correlation_id, sane_correlation_id

log = structlog.get_logger(__name__)


def header(scope: dict[str, Any], name: bytes) -> str | None:
    """The first value of an ASGI header (lower-case name), decoded as latin-1."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin1")
    return None


class CorrelationIdMiddleware:
    """Give each WebSocket connection a correlation ID (sane header or new), in scope and logs."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        cid = (
            sane_correlation_id(header(scope, b"x-correlation-id"))
            or sane_correlation_id(header(scope, b"x-request-id"))
            or new_correlation_id()
        )
        scope = {**scope, "correlation_id": cid}
        with structlog.contextvars.bound_contextvars(correlation_id=cid, path=scope.get("path")):
            return await self.app(scope, receive, send)


class MissingOriginAllowedValidator(OriginValidator):
    """Refuse browser Origins that are not allowed hosts; let clients that send none through.

    Browsers always send Origin on WebSocket handshakes, so a missing header means a script or bot,
    which must authenticate with a token afterwards. Channels' stock validator refuses those.
    """

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        allowed = self.validate_origin(parsed_origin)
        if not allowed:
            log.warning("websocket_origin_refused", origin=parsed_origin.geturl()[:200])
        return allowed


def origin_checked(app: Any) -> MissingOriginAllowedValidator:
    """Wrap an ASGI app with the Origin check against ALLOWED_HOSTS."""
    return MissingOriginAllowedValidator(app, list(settings.ALLOWED_HOSTS))
