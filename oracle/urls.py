"""URL configuration: the service index, the admin (with the operator dashboard) and each app's
endpoints."""

from django.contrib import admin
from django.urls import include, path

from core.login_throttle import ThrottledLoginForm
from oracle.views import index

admin.site.site_header = "oracle"
admin.site.site_title = "oracle admin"
admin.site.index_title = "Operations"
admin.site.login_form = ThrottledLoginForm

urlpatterns = [
    path("", index, name="index"),
    path("", include("dashboard.urls")),
    path("admin/", admin.site.urls),
    path("", include("core.urls")),
    path("", include("health.urls")),
    path("", include("prices.urls")),
    path("", include("alerts.urls")),
    path("", include("metrics.urls")),
]

handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
