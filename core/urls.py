"""HTTP routes of the core app: the OpenAPI document and its docs page."""

from django.urls import path

from core import views

urlpatterns = [
    path("api/openapi.json", views.openapi_json, name="openapi"),
    path("api/docs", views.api_docs, name="api-docs"),
]
