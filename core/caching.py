"""HTTP caching of the JSON endpoints: validators, freshness and conditional requests, in one place.

An answer that may be cached carries a strong `ETag` (a hash of what identifies its
representation), a `Last-Modified` and a `Cache-Control` saying who may keep it and for how long.
A request's preconditions are evaluated as RFC 9110 §13.2.2 orders them, by Django's
`get_conditional_response`: `If-Match`, `If-Unmodified-Since`, then `If-None-Match`, and
`If-Modified-Since` only on GET/HEAD without `If-None-Match`. A fresh copy in the client's cache
gets `304 Not Modified` with an empty body and the same validators and `Cache-Control`;
a failed `If-Match` gets 412 with the JSON error body. `Last-Modified` has whole seconds only, so
two changes within one second look alike to `If-Modified-Since`; the ETag tells them apart.

Answers to requests that need credentials are `private, no-store`: no shared cache keeps them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from core.api import ApiError

PRIVATE = "private, no-store"
NO_STORE = "no-store"


def strong_etag(*parts: bytes) -> str:
    """A strong entity tag (quoted) for a representation identified by `parts`."""
    digest = hashlib.blake2b(digest_size=12)
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return f'"{digest.hexdigest()}"'


@dataclass(frozen=True)
class Validators:
    """What identifies an answer's representation: its ETag and when it last changed (UTC)."""

    etag: str
    last_modified: datetime

    @property
    def timestamp(self) -> int:
        """Last-Modified in whole seconds, as an HTTP date carries it."""
        return int(self.last_modified.astimezone(UTC).timestamp())


def cache_control(seconds: float, *, public: bool = True) -> str:
    """`Cache-Control` for an answer fresh for `seconds` (whole seconds; shared caches may keep
    it when public); `no-store` under one second."""
    if seconds < 1:
        return NO_STORE
    return f"{'public' if public else 'private'}, max-age={int(seconds)}"


def conditional(
    request: HttpRequest,
    response: HttpResponse,
    validators: Validators,
    control: str,
) -> HttpResponse:
    """The response with its caching headers and validators, or the 304/412 its preconditions
    call for. Only a success (2xx) carries validators and is evaluated."""
    response["Cache-Control"] = control
    if not 200 <= response.status_code < 300:
        return response
    response["ETag"] = validators.etag
    response["Last-Modified"] = http_date(validators.timestamp)
    answer = get_conditional_response(
        request, etag=validators.etag, last_modified=validators.timestamp, response=response
    )
    if answer.status_code == 412:
        return ApiError(
            412,
            "precondition_failed",
            "the representation does not match If-Match or has changed since If-Unmodified-Since",
        ).response()
    return answer


def private(response: HttpResponse) -> HttpResponse:
    """Mark an answer that needed credentials: kept by no cache (`private, no-store`)."""
    response["Cache-Control"] = PRIVATE
    return response
