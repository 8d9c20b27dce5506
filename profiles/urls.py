"""Profile routes: /customers/<CustomerID>/."""

from django.urls import path

from . import views

app_name = "profiles"
urlpatterns = [path("customers/<int:customer_id>/", views.customer_page, name="customer")]
