"""API routes: the seed's two endpoints (same paths as before), /api/..., the schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from . import cases, views, webhooks

app_name = "api"

urlpatterns = [
    path("customer_ids", views.CustomerIdListApi.as_view(), name="customer-ids"),
    path("api/anomalies", views.AnomalyListApi.as_view(), name="anomalies"),
    path("api/score", views.TransactionScoreApi.as_view(), name="score"),
    path("api/transactions/", views.TransactionListApi.as_view(), name="transactions"),
    path("api/models", views.ModelVersionListApi.as_view(), name="models"),
    path("api/models/<int:pk>", views.ModelVersionDetailApi.as_view(), name="model"),
    path("api/health", views.HealthApi.as_view(), name="health"),
    path("api/jobs/", include("api.job_urls")),
    path("api/cases", cases.CaseListApi.as_view(), name="cases"),
    path("api/cases/<int:pk>", cases.CaseDetailApi.as_view(), name="case"),
    path("api/cases/<int:pk>/close", cases.CaseCloseApi.as_view(), name="case-close"),
    path("api/webhooks/endpoints", webhooks.EndpointListCreateApi.as_view(), name="webhook-endpoints"),
    path("api/webhooks/endpoints/<int:pk>", webhooks.EndpointDetailApi.as_view(), name="webhook-endpoint"),
    path("api/auth/token", obtain_auth_token, name="token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
