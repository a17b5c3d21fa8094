"""The bounds of the subscriber WebSocket, with defaults; each can be overridden in Django settings
under the same name prefixed with `ALERTS_` (e.g. `ALERTS_CLIENT_QUEUE = 1000`)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from django.conf import settings


@dataclass(frozen=True)
class SubscriberLimits:
    auth_timeout: float = (
        5.0  # seconds to send {"type":"auth"} when no token came with the handshake
    )
    session_check_seconds: float = 30.0  # token re-check and heartbeat period (revocation ≤ 60 s)
    max_frame_bytes: int = 64 * 1024
    max_messages_per_second: int = 20
    client_queue: int = 500  # messages waiting for one slow client before it is told to resume
    replay_page: int = 200
    relay_poll_seconds: float = 0.1  # without a shared channel layer: how often the store is polled
    safety_poll_seconds: float = 5.0  # with one (Redis): the store is still polled, as a safety net

    @classmethod
    def from_settings(cls) -> SubscriberLimits:
        values = {
            field.name: getattr(settings, f"ALERTS_{field.name.upper()}")
            for field in fields(cls)
            if hasattr(settings, f"ALERTS_{field.name.upper()}")
        }
        return cls(**values)
