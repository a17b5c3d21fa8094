from django.apps import AppConfig


class PricesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "prices"

    def ready(self) -> None:
        from health.checks import register
        from prices.checks import PriceFreshnessCheck

        register(PriceFreshnessCheck())
