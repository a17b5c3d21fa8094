"""Learn when a WebSocket client stops reading, under daphne.

ASGI gives a WebSocket application no backpressure: daphne's `send` returns at once and Twisted
buffers whatever the client does not read, without limit. Twisted itself knows: a push producer
registered on the connection is paused when its write buffer is full and resumed when it drains.
Daphne hands the application `functools.partial(server.handle_reply, protocol)` (wrapped by
Channels' session middleware), so the protocol can be reached from `send` and given a producer.
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
    """A Twisted push producer that only reports pause and resume."""

    def __init__(self, on_pause: Callable[[], None], on_resume: Callable[[], None]) -> None:
        self.pauseProducing = on_pause
        self.resumeProducing = on_resume

    def stopProducing(self) -> None:
        self.resumeProducing()  # the connection is gone: let any waiting writer finish


def daphne_protocol(send: Any) -> Any | None:
    """Daphne's WebSocket protocol object behind an ASGI `send`, when there is one."""
    for _ in range(4):
        if isinstance(send, functools.partial):
            protocol = send.args[0] if send.args else None
            return protocol if hasattr(protocol, "registerProducer") else None
        send = getattr(getattr(send, "__self__", None), "real_send", None)
        if send is None:
            return None
    return None


def watch_writes(send: Any, on_pause: Callable[[], None], on_resume: Callable[[], None]) -> bool:
    """Call `on_pause`/`on_resume` as the connection's write buffer fills and drains."""
    protocol = daphne_protocol(send)
    if protocol is None:
        return False
    try:
        protocol.registerProducer(_WriteWatcher(on_pause, on_resume), True)
    except RuntimeError:  # a producer is registered already
        return False
    return True
