"""Two request paths through Django: the full middleware stack for people (admin, pages) and a
short, fully asynchronous one for machines (/health, /api/).

Django's standard middleware run their synchronous hooks from async code by handing them to a
thread, 30-40 hand-offs per request; the JSON endpoints need none of sessions, CSRF, messages or
authentication, so they skip them and keep only what every response needs.

Django also gives each request a thread of its own for its synchronous work (asgiref's
`ThreadSensitiveContext`): a new thread started and joined per request, even when only Django's
`request_started` and `request_finished` signals need it. The machine endpoints' synchronous work
is short (those signals, the whale endpoints' queries), so it shares Django's one synchronous
thread instead, the rule `core.db.run_orm` follows; slow or blocking work (health probes, store
reads of a new snapshot) runs in worker threads of its own.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler


class MachineEndpointsHandler(ASGIHandler):
    """Django's ASGI handler built with MACHINE_MIDDLEWARE instead of MIDDLEWARE, whose requests
    share Django's synchronous thread instead of starting one each (see the module docstring)."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    def load_middleware(self, is_async: bool = False) -> None:
        # Django reads the list from settings; swap it in for this handler's construction only
        # (it happens once, at import, before any request is served).
        full_stack = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.MACHINE_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full_stack


class PathRouter:
    """Send HTTP requests under MACHINE_PATH_PREFIXES to the machine handler, others to Django's."""

    def __init__(self, full: Any, machine: Any, prefixes: tuple[str, ...]) -> None:
        self.full = full
        self.machine = machine
        self.prefixes = prefixes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        app = self.machine if scope["path"].startswith(self.prefixes) else self.full
        await app(scope, receive, send)
