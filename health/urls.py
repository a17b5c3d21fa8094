"""HTTP routes of the health app."""

urlpatterns: list = []
