from django.apps import AppConfig


class PricesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "prices"

    def ready(self) -> None:
        from prices.checks import register_checks

        register_checks()
