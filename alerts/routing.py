"""WebSocket URL routes of the alerts app."""

websocket_urlpatterns: list = []
