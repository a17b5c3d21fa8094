"""URL configuration: the service index, the admin and each app's endpoints."""

from django.contrib import admin
from django.urls import include, path

from oracle.views import index

urlpatterns = [
    path("", index, name="index"),
    path("admin/", admin.site.urls),
    path("", include("health.urls")),
    path("", include("prices.urls")),
    path("", include("alerts.urls")),
]
