from django.apps import AppConfig


class AlertsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "alerts"

    def ready(self) -> None:
        from alerts.checks import MempoolFeedCheck
        from health.base import register

        register(MempoolFeedCheck())
