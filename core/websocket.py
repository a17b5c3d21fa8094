"""ASGI middleware for WebSocket connections: the client address, correlation IDs and the Origin
check.

Origin. A browser always sends `Origin` on a WebSocket handshake, and sends the user's cookies
whatever page opened the socket; so a handshake with an Origin is accepted only when scheme, host
and port are those of an allowed origin. The list is `ALLOWED_ORIGINS` (`DJANGO_ALLOWED_ORIGINS`)
when given, else derived: the CSRF trusted origins, each allowed host on the web process's own
port (http and https) and, when served over HTTPS behind the proxy, each allowed host on the
HTTPS port. Wildcard hosts (`*`, `.example.com`) derive nothing. A handshake without Origin (a
script, a bot) is let through: it cannot carry a victim's cookies and must authenticate with a
token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import structlog
from channels.security.websocket import WebsocketDenier
from django.conf import settings

from core.logging import new_correlation_id, sane_correlation_id
from core.proxies import client_address

log = structlog.get_logger(__name__)
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
Origin = tuple[str, str, int]


def header(scope: dict[str, Any], name: bytes) -> str | None:
    """The first value of an ASGI header (lower-case name), decoded as latin-1."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin1")
    return None


class TrustedProxyMiddleware:
    """`scope["client"]` becomes the client's address when the peer is a trusted proxy (see
    `core.proxies`)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        peer = scope.get("client") or (None, None)
        client = client_address(peer[0], header(scope, b"x-forwarded-for"))
        if client != peer[0]:
            scope = {**scope, "client": (client, 0)}
        return await self.app(scope, receive, send)


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


def origin_key(origin: str) -> Origin | None:
    """(scheme, host, port) of an origin, with the scheme's default port; None when unusable."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def allowed_origins(scope: dict[str, Any]) -> set[Origin]:
    """The origins allowed to open a socket on this server (see the module docstring)."""
    if settings.ALLOWED_ORIGINS:
        listed = list(settings.ALLOWED_ORIGINS)
    else:
        listed = list(settings.CSRF_TRUSTED_ORIGINS)
        server = scope.get("server")
        hosts = [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
        for host in hosts:
            if server and server[1]:
                listed += [f"http://{host}:{server[1]}", f"https://{host}:{server[1]}"]
            if settings.SECURE_SSL_REDIRECT:  # served over HTTPS, through the TLS proxy
                listed.append(f"https://{host}")
    return {key for key in map(origin_key, listed) if key is not None}


class OriginCheck:
    """Refuse (HTTP 403) a handshake whose Origin is not allowed; see the module docstring."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        origin = header(scope, b"origin")
        if origin is not None and origin_key(origin) not in allowed_origins(scope):
            log.warning("websocket_origin_refused", origin=origin[:200])
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)


def origin_checked(app: Any) -> OriginCheck:
    """Wrap an ASGI app with the Origin check."""
    return OriginCheck(app)
