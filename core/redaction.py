"""Keep credentials out of logs, stored errors, error pages and error strings, in one place.

`redact(text)` is what every exception text goes through before it is logged (a processor of
`core.logging` applies it to every log line, tracebacks included) or stored (health samples, the
feed status, backfill requests): URLs lose their `user:password@` and every configured secret (the
secret key, the RPC and admin passwords, the database password, the password of any configured
URL, the notification URLs of NOTIFY_URLS and their tokens) is replaced by `***`. `core.error_reports` applies it to Django's debug page and error
reports. `redact_url` and `redact_query_string` shorten one URL or query string for display.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_PARAMS = frozenset(
    {"token", "access_token", "password", "api_key", "apikey", "key", "secret"}
)
REDACTED = "REDACTED"
MASK = "***"
# A shorter secret is not searched for: masking every "p" of a text hides nothing and leaves the
# text unreadable.
MIN_MASKED_SECRET = 4
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")
_SECRET_SETTINGS = ("SECRET_KEY", "BITCOIN_RPC_PASSWORD", "ORACLE_ADMIN_PASSWORD")
_URL_SETTINGS = ("ELECTRS_URL", "MEMPOOL_URL", "MEMPOOL_WS_URL", "BITCOIN_RPC_URL", "REDIS_URL")
# An apprise URL may carry its secrets anywhere (`tgram://BOT_TOKEN/CHAT`, `json://user:pw@host`):
# the whole URL after its scheme is masked, and so is each of its pieces this long or longer.
MIN_MASKED_URL_PIECE = 12
_URL_PIECES = re.compile(r"[/?&=@:#,;]+")


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


def redact(text: str) -> str:
    """A text safe to log, store or show: no `user:password@` in URLs, no configured secret."""
    text = redact_text(text)
    secrets = _secrets_pattern(_secret_settings())
    return text if secrets is None else secrets.sub(MASK, text)


def _secret_settings() -> tuple[Any, ...]:
    """The settings that hold secrets (read each time: tests change them)."""
    from django.conf import settings

    if not settings.configured:
        return ()
    database = settings.DATABASES.get("default", {}).get("PASSWORD")
    named = (getattr(settings, name, None) for name in (*_SECRET_SETTINGS, *_URL_SETTINGS))
    notify = getattr(settings, "NOTIFY_URLS", ())
    return (database, *named, *(piece for url in notify for piece in notify_url_secrets(url)))


def notify_url_secrets(url: str) -> list[str]:
    """What to mask of a notification URL: all of it after the scheme, its password, and each
    piece of at least MIN_MASKED_URL_PIECE characters (tokens, keys, webhook ids)."""
    rest = url.split("://", 1)[-1]
    without_userinfo = redact_text(url).split("://", 1)[-1]  # as it reads once redact_text ran
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    pieces = [part for part in _URL_PIECES.split(rest) if len(part) >= MIN_MASKED_URL_PIECE]
    return [rest, without_userinfo, *([password] if password else []), *pieces]


@lru_cache(maxsize=8)
def _secrets_pattern(values: tuple[Any, ...]) -> re.Pattern[str] | None:
    """One pattern matching every configured secret (longest first), None without any."""
    found: set[str] = set()
    for value in values:
        if not isinstance(value, str):
            continue
        if "://" in value:
            try:
                value = urlsplit(value).password or ""
            except ValueError:
                continue
        if len(value) >= MIN_MASKED_SECRET:
            found.add(value)
    if not found:
        return None
    return re.compile("|".join(re.escape(s) for s in sorted(found, key=len, reverse=True)))
