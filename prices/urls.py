"""HTTP routes of the prices app: the price API, its OpenAPI document and docs page."""

from django.urls import path

from prices import views

urlpatterns = [
    path("api/prices/latest", views.latest, name="prices-latest"),
    path("api/prices/historical", views.historical, name="prices-historical"),
    path("api/prices/comparison", views.comparison, name="prices-comparison"),
    path("api/prices/gaps", views.gaps, name="prices-gaps"),
    path("api/openapi.json", views.openapi_json, name="openapi"),
    path("api/docs", views.api_docs, name="api-docs"),
]
