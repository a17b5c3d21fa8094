"""Structured logging: structlog and the stdlib loggers (Django, daphne, channels) share one renderer.

`LOG_FORMAT=json` writes one JSON object per line; `console` writes human-readable lines. Logs go to
stderr so that commands can keep stdout for their results. Context bound with
`structlog.contextvars` (correlation_id, request_id, …) appears on every line, stdlib lines included.
Every text of a line, exception tracebacks included, goes through `core.redaction.redact` last:
no credential in a URL and no configured secret reaches the logs, whoever logged it.
"""

from __future__ import annotations

import logging
import logging.config
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from core.redaction import redact

CORRELATION_HEADER = "X-Correlation-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]

_QUIET_LOGGERS = {
    "django": "INFO",
    "django.server": "INFO",
    "django.request": "CRITICAL",  # request_failed (django-structlog) logs failures with context
    "django.channels.server": "INFO",
    "daphne": "INFO",
    "channels": "INFO",
    "asyncio": "WARNING",
    "urllib3": "WARNING",
    "websockets": "WARNING",
    "twisted": "WARNING",
}


def sane_correlation_id(value: str | None) -> str | None:
    """Return the ID when it is 1-128 characters of [A-Za-z0-9._:-], else None."""
    if value and _SANE_ID.match(value):
        return value
    return None


def new_correlation_id() -> str:
    """A fresh correlation ID (UUID4)."""
    return str(uuid.uuid4())


def current_correlation_id() -> str | None:
    """The correlation ID bound to the current context, if any."""
    return structlog.contextvars.get_contextvars().get("correlation_id")


@contextmanager
def correlation_scope(correlation_id: str | None = None, **extra: Any) -> Iterator[str]:
    """Bind a correlation ID (a new one when not given) for one unit of work, then restore."""
    cid = correlation_id or new_correlation_id()
    with structlog.contextvars.bound_contextvars(correlation_id=cid, **extra):
        yield cid


def configure_structlog() -> None:
    """Route structlog through the stdlib so both share handlers and the renderer."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def redact_event(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: every text of the line redacted (`core.redaction.redact`)."""
    return {key: _redacted(value) for key, value in event.items()}


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redacted(item) for item in value]
    return redact(str(value))


def structured_formatter(log_format: str) -> logging.Formatter:
    """The formatter that renders structlog events and stdlib records alike."""
    if log_format == "json":
        renderer: Any = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    return structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
        foreign_pre_chain=[*_SHARED_PROCESSORS, structlog.stdlib.ExtraAdder()],
    )


def logging_dict(log_format: str, log_level: str) -> dict[str, Any]:
    """The stdlib logging configuration: one stderr handler on the root logger."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {"()": structured_formatter, "log_format": log_format},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": log_level},
        "loggers": {
            name: {"handlers": [], "level": level, "propagate": True}
            for name, level in _QUIET_LOGGERS.items()
        },
    }


def configure_logging(log_format: str, log_level: str) -> None:
    """Apply the logging configuration (called once from settings)."""
    configure_structlog()
    logging.config.dictConfig(logging_dict(log_format, log_level))
    logging.captureWarnings(True)


def structure_daphne_access_log() -> None:
    """Send daphne's access log through the structured loggers instead of plain text on stdout.

    HTTP entries are dropped: the request middleware already logs each request with its
    correlation ID, status and duration. WebSocket handshake entries become `websocket_access`
    events of the `daphne.access` logger.
    """
    from daphne.access import AccessLogGenerator

    access_log = structlog.get_logger("daphne.access")

    def log_action(self: Any, protocol: str, action: str, details: dict[str, Any]) -> None:
        if protocol == "websocket":
            path = str(details.get("path", "")).split("?", 1)[0]
            access_log.info(
                "websocket_access", action=action, path=path, client=details.get("client")
            )

    AccessLogGenerator.__call__ = log_action  # type: ignore[method-assign]
