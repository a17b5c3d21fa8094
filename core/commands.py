"""Base class for the project's management commands: each run logs under its own correlation ID."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.logging import correlation_scope


class CorrelatedCommand(BaseCommand):
    """A management command whose every log line carries a fresh correlation ID and its name."""

    def execute(self, *args: Any, **options: Any) -> Any:
        command = type(self).__module__.rsplit(".", 1)[-1]
        with correlation_scope(command=command):
            return super().execute(*args, **options)
