"""HTTP routes of the alerts app."""

from django.urls import path

from alerts import views

urlpatterns = [
    path("api/whales", views.whale_list, name="whale-list"),
    path("api/whales/summary", views.whale_summary, name="whale-summary"),
    path("api/whales/<str:txid>", views.whale_detail, name="whale-detail"),
    path("alerts/live", views.live_page, name="alerts-live"),
]
