from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The operator dashboard: prices, health and whales on one staff page."""

    name = "dashboard"
