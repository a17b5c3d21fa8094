"""Daphne's connection behind a subscriber socket: learn when the client stops reading, and write
frames prepared once per process straight to it.

ASGI gives a WebSocket application no backpressure: daphne's `send` returns at once and Twisted
buffers whatever the client does not read, without limit. Twisted itself knows: the push producer
registered on the connection is paused when its write buffer is full and resumed when it drains.
Daphne hands the application `functools.partial(server.handle_reply, protocol)` (wrapped by
Channels' session middleware), so the connection can be reached from `send`; its producer (daphne's
HTTP channel, left from the handshake) is replaced by one that reports to the session and passes
every call on to it.

Every subscriber that gets an alert gets the same bytes, so `websocket_frame` encodes a text frame
once (RFC 6455; a server's frames are not masked, and daphne negotiates no compression) and
`Connection.write` hands those bytes to the connection. That skips what the ASGI path does again
for every socket: the message dict, Channels' session wrapper, daphne's reply dispatch, UTF-8
encoding and autobahn's framing. Nothing is written once autobahn's state has left OPEN (the close
handshake began or the connection is gone). When Twisted holds nothing unsent for a plain TCP
connection, the bytes go to the socket at once with the transport's own `writeSomeData` (one
`send`), and only what the kernel does not take is queued with `transport.write`; that spares the
reactor registering the socket for writing and calling back for every frame (on a 2-core machine,
half of a web process's time at 10,000 frames a second). Order is kept: a direct send happens
only when nothing else waits in Twisted's buffer.

Under another server, or in tests without a server, `attach` returns None: the session then sends
text through ASGI and only its own queue bound applies.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

if TYPE_CHECKING:
    from twisted.internet import tcp


@implementer(IPushProducer)
class _WriteWatcher:
    """A Twisted push producer that reports pause and resume, and passes them on to the producer
    it replaced (daphne's HTTP channel, which stays registered after the WebSocket upgrade)."""

    def __init__(
        self, on_pause: Callable[[], None], on_resume: Callable[[], None], previous: Any
    ) -> None:
        self.on_pause = on_pause
        self.on_resume = on_resume
        self.previous = previous

    def pauseProducing(self) -> None:
        self.on_pause()
        if self.previous is not None:
            self.previous.pauseProducing()

    def resumeProducing(self) -> None:
        self.on_resume()
        if self.previous is not None:
            self.previous.resumeProducing()

    def stopProducing(self) -> None:
        self.on_resume()  # the connection is gone: let a waiting writer finish
        if self.previous is not None:
            self.previous.stopProducing()


class Connection:
    """Writes prepared WebSocket frames to one daphne connection."""

    def __init__(self, protocol: Any) -> None:
        from twisted.internet import tcp  # only under daphne: commands that load URLs skip it

        self._protocol = protocol
        self._tcp = isinstance(protocol.transport, tcp.Connection)

    def write(self, data: bytes) -> None:
        protocol = self._protocol
        if protocol.state != protocol.STATE_OPEN:
            return
        transport = protocol.transport
        if self._tcp and self._sendable(transport):
            sent = transport.writeSomeData(data)
            if sent == len(data):
                return
            if isinstance(sent, int):
                data = data[sent:]
            # else the connection is lost: writing lets Twisted find out as usual
        transport.write(data)

    @staticmethod
    def _sendable(transport: tcp.Connection) -> bool:
        """Open for writing, plain TCP, and nothing waiting in Twisted's buffer."""
        return bool(
            transport.connected
            and not (transport.disconnecting or transport._writeDisconnected or transport.TLS)
            and not (transport.dataBuffer or transport._tempDataLen)
        )


def websocket_frame(text: str) -> bytes:
    """`text` as one unmasked WebSocket text frame, ready for `Connection.write`."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def daphne_protocol(send: Any) -> Any | None:
    """Daphne's WebSocket protocol object behind an ASGI `send`, when there is one."""
    for _ in range(4):
        if isinstance(send, functools.partial):
            protocol = send.args[0] if send.args else None
            return protocol if hasattr(protocol, "transport") else None
        send = getattr(getattr(send, "__self__", None), "real_send", None)
        if send is None:
            return None
    return None


def watch_writes(
    transport: Any, on_pause: Callable[[], None], on_resume: Callable[[], None]
) -> bool:
    """Call `on_pause`/`on_resume` as the transport's write buffer fills and drains."""
    if transport is None or not hasattr(transport, "registerProducer"):
        return False
    previous = getattr(transport, "producer", None)
    streaming = getattr(transport, "streamingProducer", getattr(transport, "streaming", False))
    if previous is not None and not streaming:  # a pull producer expects other calls
        return False
    if previous is not None:
        transport.unregisterProducer()
    transport.registerProducer(_WriteWatcher(on_pause, on_resume, previous), True)
    return True


def attach(
    send: Any, on_pause: Callable[[], None], on_resume: Callable[[], None]
) -> Connection | None:
    """The connection behind an ASGI `send`, watched for a full write buffer; None when `send`
    is not daphne's or its buffer cannot be watched."""
    protocol = daphne_protocol(send)
    if protocol is None or not watch_writes(protocol.transport, on_pause, on_resume):
        return None
    return Connection(protocol)
