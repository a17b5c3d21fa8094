"""HTTP route of the dashboard app (under the admin's prefix, before the admin's own URLs)."""

from django.urls import path

from dashboard import views

urlpatterns = [path("admin/dashboard/", views.dashboard, name="dashboard")]
