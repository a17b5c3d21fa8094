"""HTTP routes of the prices app."""

urlpatterns: list = []
