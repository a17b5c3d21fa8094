"""Reaching daphne's connection from an ASGI send, watching its write buffer and writing prepared
frames to it (Twisted's own test transport stands in for the socket)."""

from __future__ import annotations

import functools
import socket

import pytest
from autobahn.websocket.protocol import PreparedMessage, WebSocketProtocol
from twisted.internet import tcp
from twisted.internet.testing import MemoryReactor, StringTransport

from alerts.connection import Connection, attach, daphne_protocol, websocket_frame


class Protocol:
    """Shaped like daphne's WebSocketProtocol (autobahn's) where it matters: a transport, a state."""

    STATE_OPEN = WebSocketProtocol.STATE_OPEN

    def __init__(self, transport: StringTransport) -> None:
        self.transport = transport
        self.state = WebSocketProtocol.STATE_OPEN


class SessionWrapper:
    """Shaped like channels.sessions.InstanceSessionWrapper: `send` wraps `real_send`."""

    def __init__(self, real_send) -> None:
        self.real_send = real_send

    async def send(self, message) -> None:
        await self.real_send(message)


async def handle_reply(protocol, message) -> None:
    protocol.transport.write(message["text"].encode())


class Previous:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pauseProducing(self) -> None:
        self.calls.append("pause")

    def resumeProducing(self) -> None:
        self.calls.append("resume")

    def stopProducing(self) -> None:
        self.calls.append("stop")


def test_finds_the_protocol_behind_channels_wrappers():
    protocol = Protocol(StringTransport())
    send = SessionWrapper(functools.partial(handle_reply, protocol)).send
    assert daphne_protocol(send) is protocol
    assert daphne_protocol(functools.partial(handle_reply, protocol)) is protocol


def test_other_servers_are_not_watched():
    async def plain_send(message) -> None: ...

    assert daphne_protocol(plain_send) is None
    assert daphne_protocol(functools.partial(plain_send)) is None
    assert (
        daphne_protocol(SessionWrapper(SessionWrapper(SessionWrapper(plain_send).send).send).send)
        is None
    )
    assert attach(plain_send, lambda: None, lambda: None) is None


def test_pause_and_resume_reach_the_session_and_the_replaced_producer():
    transport = StringTransport()
    previous = Previous()
    transport.registerProducer(previous, True)
    events: list[str] = []
    send = functools.partial(handle_reply, Protocol(transport))
    assert attach(send, lambda: events.append("paused"), lambda: events.append("resumed"))
    transport.producer.pauseProducing()
    transport.producer.resumeProducing()
    transport.producer.stopProducing()
    assert events == ["paused", "resumed", "resumed"]
    assert previous.calls == ["pause", "resume", "stop"]


def test_a_connection_without_a_producer_gets_one():
    transport = StringTransport()
    events: list[str] = []
    assert attach(
        functools.partial(handle_reply, Protocol(transport)), lambda: events.append("p"), list
    )
    transport.producer.pauseProducing()
    assert events == ["p"]


def test_a_pull_producer_is_left_alone():
    transport = StringTransport()
    transport.registerProducer(Previous(), False)
    assert attach(functools.partial(handle_reply, Protocol(transport)), list, list) is None


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 200_000])
def test_a_prepared_frame_is_what_autobahn_would_write(size):
    text = ("é" * size)[: size // 2] + "x" * (size - size // 2)
    payload = text.encode()
    assert websocket_frame(text) == PreparedMessage(payload, False, False, True).payloadHybi


def test_frames_are_written_while_the_connection_is_open_only():
    transport = StringTransport()
    protocol = Protocol(transport)
    connection = attach(functools.partial(handle_reply, protocol), list, list)
    connection.write(websocket_frame("one"))
    protocol.state = WebSocketProtocol.STATE_CLOSING
    connection.write(websocket_frame("two"))
    assert transport.value() == websocket_frame("one")


@pytest.fixture
def tcp_connection():
    """Twisted's TCP transport over one end of a real socket pair (the reactor is not run), the
    other end, and the reactor."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    reactor = MemoryReactor()
    transport = tcp.Connection(ours, None, reactor)
    transport.connected = True
    yield transport, theirs, reactor
    ours.close()
    theirs.close()


def test_a_frame_goes_to_the_socket_at_once_when_nothing_waits_in_twisted(tcp_connection):
    transport, theirs, reactor = tcp_connection
    Connection(Protocol(transport)).write(websocket_frame("now"))
    assert theirs.recv(100) == websocket_frame("now")
    assert not reactor.getWriters()  # the reactor was not asked to wait for writability


def test_behind_data_waiting_in_twisted_a_frame_queues_in_order(tcp_connection):
    transport, theirs, reactor = tcp_connection
    transport.write(b"first")  # e.g. a ping frame autobahn wrote
    Connection(Protocol(transport)).write(b"second")
    with pytest.raises(BlockingIOError):  # nothing was sent directly
        theirs.recv(100)
    assert b"".join(transport._tempDataBuffer) == b"firstsecond"
    assert reactor.getWriters() == [transport]


def test_what_the_kernel_does_not_take_is_queued(tcp_connection):
    transport, _, reactor = tcp_connection
    data = websocket_frame("x" * 4_000_000)
    Connection(Protocol(transport)).write(data)
    queued = b"".join(transport._tempDataBuffer)
    assert 0 < len(queued) < len(data) and data.endswith(queued)
    assert reactor.getWriters() == [transport]
