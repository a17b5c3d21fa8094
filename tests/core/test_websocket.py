"""WebSocket middleware: correlation ID in scope and logs, and the Origin check."""

from __future__ import annotations

import pytest
import structlog
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.urls import path

from core.websocket import CorrelationIdMiddleware, origin_checked

log = structlog.get_logger("tests.websocket")

# Channels consumers close stale database connections around each message.
pytestmark = pytest.mark.django_db


class EchoScopeConsumer(AsyncJsonWebsocketConsumer):
    """Accepts, logs, and tells the client its correlation ID."""

    async def connect(self) -> None:
        await self.accept()
        log.info("test_consumer_connected")
        await self.send_json({"correlation_id": self.scope["correlation_id"]})


def application():
    from channels.routing import URLRouter

    return CorrelationIdMiddleware(
        origin_checked(URLRouter([path("ws/echo/", EchoScopeConsumer.as_asgi())]))
    )


async def connect(headers: list[tuple[bytes, bytes]]) -> tuple[bool, dict | int]:
    communicator = WebsocketCommunicator(application(), "/ws/echo/", headers=headers)
    connected, detail = await communicator.connect()
    if not connected:
        return False, detail
    message = await communicator.receive_json_from()
    await communicator.disconnect()
    return True, message


async def test_a_sane_header_id_is_used_in_scope_and_logs(json_logs) -> None:
    connected, message = await connect([(b"x-correlation-id", b"ws-abc-1")])
    assert connected
    assert message == {"correlation_id": "ws-abc-1"}
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


@pytest.mark.parametrize("origin", [b"http://localhost:8000", b"https://127.0.0.1"])
async def test_allowed_origins_connect(origin: bytes) -> None:
    connected, _ = await connect([(b"origin", origin)])
    assert connected


@pytest.mark.parametrize("origin", [b"https://evil.example", b"null", b"file://"])
async def test_other_origins_are_refused(origin: bytes, json_logs) -> None:
    connected, _ = await connect([(b"origin", origin)])
    assert not connected
    assert json_logs.events("websocket_origin_refused")


async def test_the_production_stack_routes_websockets() -> None:
    from oracle.asgi import application as production

    communicator = WebsocketCommunicator(production, "/ws/unknown/")
    with pytest.raises(ValueError, match="No route found"):
        await communicator.connect()
