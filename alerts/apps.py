from django.apps import AppConfig


class AlertsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "alerts"

    def ready(self) -> None:
        from alerts.feed_status import MempoolFeedCheck
        from health.checks import register

        register(MempoolFeedCheck())
