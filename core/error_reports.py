"""Django's debug page and error reports without secrets: `SecretsFilter`
(DEFAULT_EXCEPTION_REPORTER_FILTER) and `SecretsReporter` (DEFAULT_EXCEPTION_REPORTER) run every
value and text they show through `core.redaction.redact`."""

from __future__ import annotations

from typing import Any

from django.utils.safestring import SafeData, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from core.redaction import redact


class _Shown:
    """A value as the debug page prints it: its redacted repr."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class SecretsFilter(SafeExceptionReporterFilter):
    """Django's filter of the debug page and error reports, always on (also with DEBUG), that
    also redacts every value shown: URLs lose their credentials, configured secrets are masked,
    whatever the name of the setting, header or variable that holds them."""

    def is_active(self, request: Any) -> bool:
        return True

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        return _redacted(super().cleanse_setting(key, value))

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, _redacted(value)) for name, value in variables]


def _redacted(value: Any) -> Any:
    """A string redacted; another value replaced by its redacted repr when that hides something."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    try:
        shown = repr(value)
    except Exception:
        return value
    safe = redact(shown)
    return value if safe == shown else _Shown(safe)


class SecretsReporter(ExceptionReporter):
    """Django's exception reporter (DEFAULT_EXCEPTION_REPORTER) whose texts (the exception's
    message, each frame's cause) are redacted too."""

    def get_traceback_data(self) -> dict[str, Any]:
        return _redact_texts(super().get_traceback_data())


def _redact_texts(value: Any) -> Any:
    if isinstance(value, SafeData):
        return mark_safe(redact(str(value)))  # escaped already; the mask adds no markup
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_texts(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_texts(item) for item in value)
    return value
