"""The bounds of the subscriber WebSocket. Each is the setting of the same name prefixed with
`ALERTS_` (e.g. `ALERTS_CLIENT_QUEUE`), read from the environment variable of that name; defaults
and meanings are declared in `oracle.config`."""

from __future__ import annotations

from dataclasses import dataclass, fields

from django.conf import settings


@dataclass(frozen=True)
class SubscriberLimits:
    auth_timeout: float  # seconds to send {"type":"auth"} when no token came with the handshake
    session_check_seconds: float  # credentials re-check and heartbeat period, by the hub
    max_frame_bytes: int
    max_messages_per_second: int
    client_queue: int  # messages waiting for one slow client before it is told to resume
    replay_page: int
    replay_limit: int  # stored alerts one subscribe (or one catch-up) may replay
    max_sockets_per_token: int  # per web process; a staff login counts as one token
    max_unauthenticated_per_address: int  # per web process, sockets waiting for `auth`
    relay_poll_seconds: float  # without a shared channel layer: how often the store is polled
    safety_poll_seconds: float  # with one (Redis): the store is still polled, as a safety net

    @classmethod
    def from_settings(cls) -> SubscriberLimits:
        return cls(
            **{
                field.name: getattr(settings, f"ALERTS_{field.name.upper()}")
                for field in fields(cls)
            }
        )
