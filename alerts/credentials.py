"""Whether a subscriber socket may (still) receive alerts: its token, or its staff login.

Checked when a socket authenticates, then for every socket of a web process at once every
`ALERTS_SESSION_CHECK_SECONDS` by the hub (the tokens in one query): a revoked or expired token,
and a staff login that ended (logout, password change, deactivation) or lost the permission to
view whale alerts, close the socket within that period. Synchronous ORM code (`core.db.run_orm`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib import auth

from alerts import protocol, tokens

STAFF_PERMISSION = "alerts.view_whalealert"


@dataclass(frozen=True)
class Refusal:
    """Why a socket is closed: the error message's code and text, and the close code."""

    code: str
    message: str
    close_code: int


def unauthorized(reason: str) -> Refusal:
    return Refusal("unauthorized", reason, protocol.CLOSE_UNAUTHORIZED)


@dataclass(frozen=True)
class Holder:
    """What a socket authenticated with: a token, or a staff user's login session."""

    token_id: int | None = None
    user_id: int | None = None
    session_key: str | None = None


def refusals(holders: Sequence[Holder]) -> list[Refusal | None]:
    """For each holder, why it may no longer receive alerts, or None."""
    rejected = tokens.current_rejections(h.token_id for h in holders if h.token_id is not None)
    found: list[Refusal | None] = []
    for holder in holders:
        if holder.token_id is None:
            found.append(staff_refusal(holder))
        elif holder.token_id in rejected:
            found.append(unauthorized(f"token {rejected[holder.token_id]}"))
        else:
            found.append(None)
    return found


def staff_refusal(holder: Holder) -> Refusal | None:
    """Why this staff login may not receive alerts: its session is gone or no longer its user's,
    the user is no longer active staff (4401), or lacks the view permission (4403); else None."""
    engine = import_module(settings.SESSION_ENGINE)
    request = SimpleNamespace(session=engine.SessionStore(holder.session_key))
    user = auth.get_user(request)  # type: ignore[arg-type]
    if user.pk != holder.user_id or not user.is_active or not user.is_staff:
        return unauthorized("staff login no longer valid")
    if not user.has_perm(STAFF_PERMISSION):
        return Refusal(
            "forbidden",
            f"the staff login lacks the permission {STAFF_PERMISSION}",
            protocol.CLOSE_FORBIDDEN,
        )
    return None
