"""HTTP routes of the health app."""

from django.urls import path

from health import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("health/live", views.live, name="health-live"),
    path("health/ready", views.ready, name="health-ready"),
]
