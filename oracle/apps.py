from django.apps import AppConfig


class OracleConfig(AppConfig):
    """The Django project's own app: the ensure_admin command."""

    name = "oracle"
