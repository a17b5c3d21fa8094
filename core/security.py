"""What every response of the service obeys, in both middleware stacks: a Content-Security-Policy,
and only the methods a path serves.

CSP. Pages load scripts, styles, images and connections from the service itself only; no inline
script or style runs (templates link static files and pass values in `data-` attributes), no
plugin, base URL, foreign form target or framing. The WebSocket of the live page and the
dashboard is the page's own origin (`connect-src 'self'` covers ws: and wss: there).

Methods. A path of the OpenAPI document answers only the methods documented for it (HEAD with
GET); any other path of the JSON API (a path with a template such as `/api/whales/{txid}`, or none
at all) answers GET and HEAD; any other page (the admin) answers GET, HEAD and POST. Anything else — TRACE,
PUT, DELETE, … — is 405 with `Allow` and the JSON error body, before CSRF or login redirects
could answer 403 or 302 instead.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.api import SAFE_METHODS, method_not_allowed
from core.middleware import AsyncMiddleware
from core.openapi import openapi_document

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_METHODS = ("GET", "HEAD", "POST")


@cache
def documented_methods() -> dict[str, tuple[str, ...]]:
    """The methods of each path of the OpenAPI document (HEAD wherever GET is)."""
    methods = {}
    for path, item in openapi_document()["paths"].items():
        listed = [method.upper() for method in item if method.islower()]
        if "GET" in listed:
            listed.append("HEAD")
        methods[path] = tuple(listed)
    return methods


def allowed_methods(path: str) -> tuple[str, ...]:
    documented = documented_methods().get(path)
    if documented is not None:
        return documented
    return SAFE_METHODS if path.startswith(settings.MACHINE_PATH_PREFIXES) else PAGE_METHODS


class SecurityPolicyMiddleware(AsyncMiddleware):
    """405 for a method the path does not serve; the Content-Security-Policy on every response."""

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        allowed = allowed_methods(request.path)
        if request.method in allowed:
            response = await self.get_response(request)
        else:
            response = method_not_allowed(request.method or "?", allowed)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
