"""Top-level URL routes: admin, dashboard, API and the Dash app endpoints."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("django_plotly_dash/", include("django_plotly_dash.urls")),
    path("", include("api.urls")),
    path("", include("dashboard.urls")),
]
