"""WebSocket URL routes of the alerts app."""

from django.urls import path

from alerts.consumers import AlertsConsumer

WEBSOCKET_PATH = "/ws/alerts/"

websocket_urlpatterns = [path(WEBSOCKET_PATH.lstrip("/"), AlertsConsumer.as_asgi())]
