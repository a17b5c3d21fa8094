"""Subscriber tokens: create, check, revoke. Only a token's SHA-256 is stored; the token itself is
shown once when created and never logged.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.utils import timezone

from alerts.models import AlertToken

TOKEN_PREFIX = "wat_"
_WELL_FORMED = re.compile(r"^wat_[A-Za-z0-9_-]{43}$")
LAST_USED_RESOLUTION = timedelta(seconds=60)  # at most one last-used write a minute per token


class TokenRejected(Exception):
    """A token cannot be used; `reason` is missing, malformed, unknown, expired or revoked."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"token {reason}")
        self.reason = reason


def new_token() -> str:
    """A fresh random token (`wat_` and 43 URL-safe characters, 256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def is_well_formed(raw: object) -> bool:
    return isinstance(raw, str) and _WELL_FORMED.match(raw) is not None


def create_token(
    name: str, *, expires_in_days: float | None = None, now: datetime | None = None
) -> tuple[AlertToken, str]:
    """Store a new token and return it with its secret value (the only time it is known)."""
    token = AlertToken(name=name)
    return token, issue(token, expires_in_days=expires_in_days, now=now)


def issue(
    token: AlertToken, *, expires_in_days: float | None = None, now: datetime | None = None
) -> str:
    """Give an unsaved token its secret and expiry, save it, and return the secret."""
    now = now or timezone.now()
    raw = new_token()
    token.key_hash = hash_token(raw)
    token.prefix = raw[:12]
    token.created_at = now
    token.expires_at = None if expires_in_days is None else now + timedelta(days=expires_in_days)
    token.save()
    return raw


def authenticate(raw: object, *, now: datetime | None = None) -> AlertToken:
    """The active token for a presented value, or TokenRejected saying why not."""
    if raw is None or raw == "":
        raise TokenRejected("missing")
    if not is_well_formed(raw):
        raise TokenRejected("malformed")
    now = now or timezone.now()
    token = AlertToken.objects.filter(key_hash=hash_token(raw)).first()  # type: ignore[arg-type]
    if token is None:
        raise TokenRejected("unknown")
    reason = rejection_reason(token, now)
    if reason:
        raise TokenRejected(reason)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        AlertToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def rejection_reason(token: AlertToken, now: datetime) -> str | None:
    """`revoked`, `expired` or None for a token that may be used at `now`."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return None


def current_rejections(token_ids: Iterable[int], now: datetime | None = None) -> dict[int, str]:
    """Re-check tokens during their sessions, in one query: the reason for each one that may no
    longer be used (`unknown` for a deleted one)."""
    now = now or timezone.now()
    wanted = set(token_ids)
    found = {token.pk: token for token in AlertToken.objects.filter(pk__in=wanted)}
    reasons = {pk: rejection_reason(token, now) for pk, token in found.items()}
    reasons.update({pk: "unknown" for pk in wanted - found.keys()})
    return {pk: reason for pk, reason in reasons.items() if reason is not None}


def revoke(token: AlertToken, now: datetime | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = now or timezone.now()
        token.save(update_fields=["revoked_at"])


def revoke_named(name: str, now: datetime | None = None) -> int:
    """Revoke every token of that name still in use; how many."""
    now = now or timezone.now()
    active = AlertToken.objects.filter(name=name, revoked_at__isnull=True)
    return active.exclude(expires_at__lte=now).update(revoked_at=now)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header; TokenRejected when absent or not Bearer."""
    if not authorization:
        raise TokenRejected("missing")
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise TokenRejected("malformed")
    return value.strip()
