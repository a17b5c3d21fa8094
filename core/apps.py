from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared infrastructure: the worker command, the API documentation and request logging."""

    name = "core"

    def ready(self) -> None:
        from core import middleware  # noqa: F401 - connects the request-logging receivers
