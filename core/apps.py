from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared infrastructure: the worker command, the API documentation and request logging.

    The request-logging receivers connect when `core.middleware` is imported, which the request
    handler does for MIDDLEWARE: commands start without it (and without Prometheus' client).
    """

    name = "core"
