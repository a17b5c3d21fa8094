"""WebSocket URL routes of the alerts app."""

from django.urls import path

from alerts.consumers import AlertsConsumer

websocket_urlpatterns = [path("ws/alerts/", AlertsConsumer.as_asgi())]
