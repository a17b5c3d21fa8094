import gc

from django.apps import AppConfig


class OracleConfig(AppConfig):
    """The Django project's own app: the ensure_admin command."""

    name = "oracle"

    def ready(self) -> None:
        # The last app in INSTALLED_APPS: start-up is over. Its objects live as long as the
        # process, so they leave the collector's generations, and collection (paused by the
        # `oracle` command while it started) resumes.
        gc.freeze()
        gc.enable()
