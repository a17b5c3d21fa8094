"""HTTP routes of the prices app: the price API."""

from django.urls import path, register_converter

from prices import views


class DayConverter:
    """A `{date}` segment shaped YYYY-MM-DD (the view answers 400 when no such day exists)."""

    regex = "[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DayConverter, "day")

urlpatterns = [
    path("api/prices/latest", views.latest, name="prices-latest"),
    path("api/prices/historical", views.historical, name="prices-historical"),
    path("api/prices/comparison", views.comparison, name="prices-comparison"),
    path("api/prices/gaps", views.gaps, name="prices-gaps"),
    path("api/prices/today", views.today, name="prices-today"),
    path("api/prices/at", views.at, name="prices-at"),
    path("api/prices/<day:date>", views.day, name="prices-day"),
    path("api/prices/<day:date>/cloud", views.cloud, name="prices-cloud"),
]
