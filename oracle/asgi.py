"""ASGI entry point: HTTP goes to Django (machine endpoints through a short async middleware
stack, see core.endpoints); WebSocket goes through the client address (trusted proxies), the
correlation ID, the Origin check and session authentication to the alerts URL router.

Production: `daphne -b HOST -p PORT oracle.asgi:application`.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oracle.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from alerts.routing import websocket_urlpatterns  # noqa: E402
from core.endpoints import MachineEndpointsHandler, PathRouter  # noqa: E402
from core.logging import structure_daphne_access_log  # noqa: E402
from core.websocket import (  # noqa: E402
    CorrelationIdMiddleware,
    TrustedProxyMiddleware,
    origin_checked,
)

structure_daphne_access_log()

application = ProtocolTypeRouter(
    {
        "http": PathRouter(
            django_asgi_app, MachineEndpointsHandler(), settings.MACHINE_PATH_PREFIXES
        ),
        "websocket": TrustedProxyMiddleware(
            CorrelationIdMiddleware(
                origin_checked(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)
