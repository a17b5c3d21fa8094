"""WebSocket middleware: correlation ID in scope and logs, the client address and the Origin
check (scheme, host and port against the allowed origins)."""

from __future__ import annotations

import pytest
import structlog
from asgiref.testing import ApplicationCommunicator
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.urls import path

from core.websocket import CorrelationIdMiddleware, TrustedProxyMiddleware, origin_checked

log = structlog.get_logger("tests.websocket")

# Channels consumers close stale database connections around each message.
pytestmark = pytest.mark.django_db


class EchoScopeConsumer(AsyncJsonWebsocketConsumer):
    """Accepts, logs, and tells the client its correlation ID."""

    async def connect(self) -> None:
        await self.accept()
        log.info("test_consumer_connected")
        client = self.scope.get("client") or [None]
        await self.send_json({"correlation_id": self.scope["correlation_id"], "client": client[0]})


def application():
    from channels.routing import URLRouter

    return TrustedProxyMiddleware(
        CorrelationIdMiddleware(
            origin_checked(URLRouter([path("ws/echo/", EchoScopeConsumer.as_asgi())]))
        )
    )


class Handshake(WebsocketCommunicator):
    """A WebSocket handshake as daphne presents it: the listening socket and the peer in scope."""

    def __init__(self, headers: list[tuple[bytes, bytes]], peer: str) -> None:
        scope = {
            "type": "websocket",
            "path": "/ws/echo/",
            "headers": headers,
            "subprotocols": [],
            "server": ("127.0.0.1", 8000),
            "client": (peer, 50000),
        }
        ApplicationCommunicator.__init__(self, application(), scope)
        self.response_headers = None


async def connect(
    headers: list[tuple[bytes, bytes]], peer: str = "127.0.0.1"
) -> tuple[bool, dict | int]:
    communicator = Handshake(headers, peer)
    connected, detail = await communicator.connect()
    if not connected:
        return False, detail
    message = await communicator.receive_json_from()
    await communicator.disconnect()
    return True, message


async def test_a_sane_header_id_is_used_in_scope_and_logs(json_logs) -> None:
    connected, message = await connect([(b"x-correlation-id", b"ws-abc-1")])
    assert connected
    assert message["correlation_id"] == "ws-abc-1"
    line = json_logs.events("test_consumer_connected")[0]
    assert line["correlation_id"] == "ws-abc-1"
    assert line["path"] == "/ws/echo/"


async def test_each_connection_gets_a_new_id_without_a_sane_header(json_logs) -> None:
    _, first = await connect([(b"x-correlation-id", b"bad id")])
    _, second = await connect([])
    assert first["correlation_id"] != second["correlation_id"]
    logged = [line["correlation_id"] for line in json_logs.events("test_consumer_connected")]
    assert logged == [first["correlation_id"], second["correlation_id"]]


async def test_no_origin_header_is_let_through() -> None:
    connected, _ = await connect([])
    assert connected


@pytest.mark.parametrize(
    "origin", [b"http://localhost:8000", b"https://127.0.0.1:8000", b"HTTP://[::1]:8000"]
)
async def test_allowed_hosts_on_the_servers_own_port_connect(origin: bytes) -> None:
    connected, _ = await connect([(b"origin", origin)])
    assert connected


@pytest.mark.parametrize(
    "origin",
    [
        b"http://localhost:1234",  # finding 5: another local web app, same host name
        b"http://localhost",
        b"https://127.0.0.1",  # the HTTPS port only counts when served over HTTPS
        b"https://evil.example",
        b"null",
        b"file://",
        b"http://localhost:8000.evil.example",
    ],
)
async def test_other_origins_are_refused(origin: bytes, json_logs) -> None:
    connected, _ = await connect([(b"origin", origin)])
    assert not connected
    assert json_logs.events("websocket_origin_refused")


async def test_behind_the_tls_proxy_the_https_origin_of_each_host_is_allowed(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["oracle.example", "127.0.0.1"]
    assert (await connect([(b"origin", b"https://oracle.example")]))[0]
    assert not (await connect([(b"origin", b"http://oracle.example")]))[0]


async def test_an_explicit_list_replaces_the_derived_one(settings) -> None:
    settings.ALLOWED_ORIGINS = ["https://oracle.example:8443"]
    assert (await connect([(b"origin", b"https://oracle.example:8443")]))[0]
    assert not (await connect([(b"origin", b"http://localhost:8000")]))[0]


async def test_wildcard_hosts_allow_no_origin(settings) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    assert not (await connect([(b"origin", b"http://evil.example:8000")]))[0]
    assert (await connect([]))[0]  # a script without Origin still gets to authenticate


async def test_csrf_trusted_origins_are_allowed_origins(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://oracle.example"]
    assert (await connect([(b"origin", b"https://oracle.example:443")]))[0]


async def test_the_client_is_named_by_a_trusted_proxy_only(settings) -> None:
    forged = [(b"x-forwarded-for", b"8.8.8.8, 203.0.113.9")]
    _, message = await connect(forged, peer="192.0.2.1")
    assert message["client"] == "192.0.2.1"
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]
    _, message = await connect(forged, peer="192.0.2.1")
    assert message["client"] == "203.0.113.9"


async def test_the_production_stack_routes_websockets() -> None:
    from oracle.asgi import application as production

    communicator = WebsocketCommunicator(production, "/ws/unknown/")
    with pytest.raises(ValueError, match="No route found"):
        await communicator.connect()
