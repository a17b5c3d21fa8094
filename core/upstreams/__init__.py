"""One client per upstream service: `bitcoind` (Bitcoin Core JSON-RPC and REST), `esplora`
(the Esplora HTTP API of electrs) and `mempool` (the mempool.space backend).

Everything the service asks of a node goes through these clients: the block sources of the price
engine, the exchange prices, the whale feed, the health checks and `doctor`. Each client knows its
upstream's routes, error shapes and quirks (see the module docstrings, which cite the upstream
source files they follow); callers see plain Python values or an `UpstreamError` whose message
names the service, the URL path and the reason, never a credential.

The clients import no Django: their options come from the caller (`from_settings()` helpers read
the settings lazily), so the price engine can use them outside Django.
"""

from __future__ import annotations

import os
from typing import Any

import requests

from core.http import (
    DEFAULT_BODY_LIMIT,
    HttpOptions,
    UpstreamError,
    default_deadline,
    fetch,
    http_session,
)
from core.redaction import redact_url

__all__ = ["GENESIS_HASHES", "NETWORK_NAMES", "HttpOptions", "Upstream", "UpstreamError"]

# The hash of block 0 of each network, named as Bitcoin Core's getblockchaininfo names the chain.
GENESIS_HASHES = {
    "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f": "main",
    "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943": "test",
    "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043": "testnet4",
    "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6": "signet",
    "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206": "regtest",
}
# How people call them.
NETWORK_NAMES = {
    "main": "mainnet",
    "test": "testnet3",
    "testnet4": "testnet4",
    "signet": "signet",
    "regtest": "regtest",
}


def network_name(chain: str) -> str:
    """`main` → `mainnet`, and so on; an unknown chain name is shown as it is."""
    return NETWORK_NAMES.get(chain, chain)


class Upstream:
    """The base of the clients: a base URL, HTTP options, and one session per process (created
    lazily and never pickled, so a client can be handed to worker processes)."""

    service = "upstream"

    def __init__(
        self, base_url: str, http: HttpOptions | None = None, *, service: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or HttpOptions()
        if service is not None:
            self.service = service
        self._session: requests.Session | None = None
        self._session_pid = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_url(self.base_url)!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_session"] = None
        return state

    def session(self) -> requests.Session:
        """This process's HTTP session (a fresh one after a fork)."""
        if self._session is None or self._session_pid != os.getpid():
            self._session = http_session(
                connect_timeout=self.http.connect_timeout,
                read_timeout=self.http.read_timeout,
                retries=self.http.retries,
            )
            self._session_pid = os.getpid()
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def request(
        self,
        method: str,
        path: str,
        *,
        limit: int = DEFAULT_BODY_LIMIT,
        ok_statuses: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> tuple[requests.Response, bytes]:
        """One call to `base_url + path`; any failure raises UpstreamError."""
        return fetch(
            self.session(),
            self.service,
            method,
            self.base_url + path,
            limit=limit,
            ok_statuses=ok_statuses,
            deadline=self.http.deadline or default_deadline(),
            **kwargs,
        )

    def error(self, path: str, reason: str) -> UpstreamError:
        return UpstreamError(self.service, self.base_url + path, reason)
