"""Who the client is: the peer's address, unless the peer is a trusted reverse proxy.

Any client can send `X-Forwarded-For: 8.8.8.8`. Only a peer listed in `TRUSTED_PROXIES`
(`ORACLE_TRUSTED_PROXIES`) may name the client: each proxy appends the address it received the
request from, so the client is the right-most address that is not itself a trusted proxy (what
stands left of it was written by the client and proves nothing). `X-Forwarded-Proto` (the scheme
Django believes through SECURE_PROXY_SSL_HEADER) is likewise kept only from a trusted proxy.

`TrustedProxyMiddleware` (first in both HTTP middleware stacks) rewrites `REMOTE_ADDR` to the
client and removes the forwarding headers, so nothing after it can read a forged one;
`core.websocket.TrustedProxyMiddleware` does the same for WebSocket scopes.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.middleware import AsyncMiddleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Headers that name the client; read (from a trusted proxy) or dropped here, never later.
CLIENT_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")
SCHEME_HEADER = "HTTP_X_FORWARDED_PROTO"


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def is_trusted_proxy(address: str | None) -> bool:
    """Whether the address is one of the configured reverse proxies."""
    if not address or not settings.TRUSTED_PROXIES:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_address(peer: str | None, forwarded_for: str | None) -> str | None:
    """The client's address: the peer, or when the peer is a trusted proxy the right-most address
    of `X-Forwarded-For` that is not a trusted proxy (the peer when the header is unusable)."""
    if not forwarded_for or not is_trusted_proxy(peer):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # not written by a proxy we trust: believe nothing further left
        if not is_trusted_proxy(hop):
            return hop
    return hops[0]


class TrustedProxyMiddleware(AsyncMiddleware):
    """REMOTE_ADDR becomes the client (see the module docstring); forwarding headers go."""

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        peer = meta.get("REMOTE_ADDR")
        meta["REMOTE_ADDR"] = client_address(peer, meta.get("HTTP_X_FORWARDED_FOR"))
        for name in CLIENT_HEADERS:
            meta.pop(name, None)
        if not is_trusted_proxy(peer):
            meta.pop(SCHEME_HEADER, None)
        return await self.get_response(request)
