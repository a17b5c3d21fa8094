"""Keep credentials out of logs and error strings: URLs, query strings and headers."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_PARAMS = frozenset(
    {"token", "access_token", "password", "api_key", "apikey", "key", "secret"}
)
REDACTED = "REDACTED"
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


def redact_url(url: str) -> str:
    """Drop user:password@ from a URL and hide secret query parameters."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit(parts._replace(netloc=netloc, query=redact_query_string(parts.query)))


def redact_query_string(query: str) -> str:
    """Replace the values of secret parameters (token=…, password=…) in a query string."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [(k, REDACTED if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe=":/,"
    )


def redact_text(text: str) -> str:
    """Drop `user:password@` from every URL inside a free text (an error message, say)."""
    return _USERINFO.sub(r"\1", text)
