"""Admin login throttling: failed logins are counted in Django's cache, per user name and client
address and per address alone, and a pair (or an address) over its limit is locked out.

A small limiter rather than django-axes: the service already knows the client address (it trusts
only its own proxies, `core.proxies`, where axes would bring its own forwarding-header rules),
needs no lockout table, admin pages or migrations, and has a cache shared by every web process
when `REDIS_URL` is set (each process counts on its own otherwise, and one web process is the
setup without Redis).

Limits: `LOGIN_FAILURE_LIMIT` failures of one user name from one address, or four times as many
from one address whatever the names, within `LOGIN_LOCKOUT_SECONDS` of the first failure lock
further attempts out until that window ends, correct password or not. Locking the pair rather
than the user name keeps an attacker elsewhere from locking the operator out. A successful login
clears its pair's count.
"""

from __future__ import annotations

import hashlib
from typing import Any

import structlog
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError

log = structlog.get_logger(__name__)
ADDRESS_FACTOR = 4


def _keys(address: str, username: str) -> tuple[str, str]:
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"login-failures:{address}:{name}", f"login-failures:{address}"


def is_locked_out(address: str, username: str) -> bool:
    """Whether logins of that user name from that address are refused for now."""
    pair, anyone = _keys(address, username)
    limit = settings.LOGIN_FAILURE_LIMIT
    counts = cache.get_many([pair, anyone])
    return counts.get(pair, 0) >= limit or counts.get(anyone, 0) >= ADDRESS_FACTOR * limit


def record_failure(address: str, username: str) -> None:
    for key in _keys(address, username):
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)  # starts the window
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)


def record_success(address: str, username: str) -> None:
    cache.delete(_keys(address, username)[0])


class ThrottledLoginForm(AdminAuthenticationForm):
    """The admin's login form, refusing locked-out attempts before checking the password."""

    def clean(self) -> dict[str, Any]:
        meta = self.request.META if self.request is not None else {}
        address = meta.get("REMOTE_ADDR") or "unknown"
        username = self.cleaned_data.get("username") or ""
        if is_locked_out(address, username):
            log.warning("login_locked_out", username=username[:150], ip=address)
            minutes = max(1, round(settings.LOGIN_LOCKOUT_SECONDS / 60))
            raise ValidationError(
                f"Too many failed logins. Try again in {minutes} minutes.", code="locked_out"
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            record_failure(address, username)
            log.warning("login_failed", username=username[:150], ip=address)
            raise
        record_success(address, username)
        return cleaned
