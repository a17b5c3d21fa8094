"""HTTP routes of the prices app: the price API."""

from django.urls import path

from prices import views

urlpatterns = [
    path("api/prices/latest", views.latest, name="prices-latest"),
    path("api/prices/historical", views.historical, name="prices-historical"),
    path("api/prices/comparison", views.comparison, name="prices-comparison"),
    path("api/prices/gaps", views.gaps, name="prices-gaps"),
]
