"""How many subscriber sockets one token, one staff login and one client address may hold open.

Counted per web process (each has its own counts, so N processes admit N times as many): a token
or a staff login may hold `max_sockets_per_token` authenticated sockets, and a client address
`max_unauthenticated_per_address` sockets that are still waiting for their `auth` message. The
address is the one daphne reports: behind a proxy, run daphne with `--proxy-headers` so that it is
the client's and not the proxy's.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from collections.abc import Hashable


class Admission:
    """Open sockets counted by key: ("token", id), ("user", id) or ("address", host)."""

    def __init__(self) -> None:
        self.open: Counter[Hashable] = Counter()

    def enter(self, key: Hashable, limit: int) -> bool:
        """Count one more socket for `key`, unless it holds `limit` already."""
        if self.open[key] >= limit:
            return False
        self.open[key] += 1
        return True

    def leave(self, key: Hashable) -> None:
        self.open[key] -= 1
        if self.open[key] <= 0:
            del self.open[key]


_admissions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Admission] = (
    weakref.WeakKeyDictionary()
)


def admission_for_this_loop() -> Admission:
    """The process's counts (one per event loop)."""
    loop = asyncio.get_running_loop()
    admission = _admissions.get(loop)
    if admission is None:
        admission = _admissions[loop] = Admission()
    return admission
