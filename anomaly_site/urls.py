"""Top-level URL routes: admin, dashboard, API and the Dash app endpoints."""

from django.contrib import admin
from django.urls import include, path

from dashboard import dash_routes

urlpatterns = [
    path("admin/", admin.site.urls),
    path("django_plotly_dash/", include(dash_routes.urlpatterns())),
    path("", include("exports.urls")),
    path("", include("profiles.urls")),
    path("", include("api.urls")),
    path("", include("dashboard.urls")),
]
