from django.apps import AppConfig


class HealthConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "health"

    def ready(self) -> None:
        # Importing the report records the process start time for uptime_seconds/started_at.
        from health import report  # noqa: F401
        from health.checks import register_builtin_checks

        register_builtin_checks()
