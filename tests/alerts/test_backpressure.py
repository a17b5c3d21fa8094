"""Reaching daphne's connection from an ASGI send and watching its write buffer (Twisted's own
test transport stands in for the socket)."""

from __future__ import annotations

import functools

from twisted.internet.testing import StringTransport

from alerts.backpressure import daphne_protocol, watch_writes


class Protocol:
    """Shaped like daphne's WebSocketProtocol where it matters: it has a transport."""

    def __init__(self, transport: StringTransport) -> None:
        self.transport = transport


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
    assert not watch_writes(plain_send, lambda: None, lambda: None)


def test_pause_and_resume_reach_the_session_and_the_replaced_producer():
    transport = StringTransport()
    previous = Previous()
    transport.registerProducer(previous, True)
    events: list[str] = []
    send = functools.partial(handle_reply, Protocol(transport))
    assert watch_writes(send, lambda: events.append("paused"), lambda: events.append("resumed"))
    transport.producer.pauseProducing()
    transport.producer.resumeProducing()
    transport.producer.stopProducing()
    assert events == ["paused", "resumed", "resumed"]
    assert previous.calls == ["pause", "resume", "stop"]


def test_a_connection_without_a_producer_gets_one():
    transport = StringTransport()
    events: list[str] = []
    assert watch_writes(
        functools.partial(handle_reply, Protocol(transport)), lambda: events.append("p"), list
    )
    transport.producer.pauseProducing()
    assert events == ["p"]


def test_a_pull_producer_is_left_alone():
    transport = StringTransport()
    transport.registerProducer(Previous(), False)
    assert not watch_writes(functools.partial(handle_reply, Protocol(transport)), list, list)
