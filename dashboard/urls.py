"""Dashboard routes: the page at the site root, and the site icon browsers ask for."""

from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "dashboard"
urlpatterns = [
    path("", views.dashboard_page, name="index"),
    path("favicon.ico", RedirectView.as_view(url=static("dashboard/favicon.svg"), permanent=True)),
]
