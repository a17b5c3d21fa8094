"""Learn when a WebSocket client stops reading, under daphne.

ASGI gives a WebSocket application no backpressure: daphne's `send` returns at once and Twisted
buffers whatever the client does not read, without limit. Twisted itself knows: the push producer
registered on the connection is paused when its write buffer is full and resumed when it drains.
Daphne hands the application `functools.partial(server.handle_reply, protocol)` (wrapped by
Channels' session middleware), so the connection can be reached from `send`; its producer (daphne's
HTTP channel, left from the handshake) is replaced by one that reports to the session and passes
every call on to it.
Under another server, or in tests without a server, `watch_writes` returns False and only the
session's own queue bound applies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer


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


def watch_writes(send: Any, on_pause: Callable[[], None], on_resume: Callable[[], None]) -> bool:
    """Call `on_pause`/`on_resume` as the connection's write buffer fills and drains."""
    protocol = daphne_protocol(send)
    transport = getattr(protocol, "transport", None)
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
