"""The two references `bench_http.py` measures the service against, served by daphne like it.

* `bare`: a plain ASGI app, no framework: the ceiling of daphne and this machine.
* `django_floor`: a minimal Django project, one async view and no middleware: the least any
  Django view served by daphne costs (this module is also its settings and its URLconf).

Both answer each path of the JSON file named by `BENCH_RESPONSES` (path -> status, headers and
body, captured from the service by the bench) with the same bytes, and `304 Not Modified` to a
GET carrying that answer's `ETag` in `If-None-Match`.

    DJANGO_SETTINGS_MODULE=http_reference daphne http_reference:django_floor   (with bench/ on the path)
    daphne http_reference:bare
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

SECRET_KEY = "bench-only-not-a-secret-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "http_reference"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict[str, Any] = {}
USE_TZ = True


@cache
def responses() -> dict[str, dict[str, Any]]:
    """path -> {"status", "headers" (name -> value), "body" (text)}, read once."""
    with open(os.environ["BENCH_RESPONSES"]) as handle:
        return json.load(handle)


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bare ASGI app: the captured answer, or 304 when If-None-Match names its ETag."""
    if scope["type"] != "http":
        return
    answer = responses().get(scope["path"])
    if answer is None:
        status, headers, body = 404, [], b""
    else:
        headers = [(name.encode(), value.encode()) for name, value in answer["headers"].items()]
        etag = answer["headers"].get("ETag")
        if etag and (b"if-none-match", etag.encode()) in scope["headers"]:
            status, body = 304, b""
        else:
            status, body = answer["status"], answer["body"].encode()
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def floor_view(request: Any) -> Any:
    """Django's floor: the captured answer from an async view, 304 on a matching If-None-Match."""
    from django.http import HttpResponse, HttpResponseNotModified

    answer = responses()[request.path]
    etag = answer["headers"].get("ETag")
    if etag and request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(answer["body"].encode(), status=answer["status"])
    for name, value in answer["headers"].items():
        response[name] = value
    return response


def _urlpatterns() -> list[Any]:
    from django.urls import re_path

    return [re_path(r"^.*$", floor_view)]


def __getattr__(name: str) -> Any:
    """`urlpatterns` and the `django_floor` application are built on first use: this module is
    the floor's settings too, so it must import without Django being set up."""
    if name == "urlpatterns":
        return _urlpatterns()
    if name == "django_floor":
        from django.core.asgi import get_asgi_application

        return get_asgi_application()
    raise AttributeError(name)
