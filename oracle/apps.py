from django.apps import AppConfig


class OracleConfig(AppConfig):
    """The project's own app: management commands (run_worker) and request-logging signals."""

    name = "oracle"

    def ready(self) -> None:
        from oracle import middleware  # noqa: F401 - connects the request-logging receivers
