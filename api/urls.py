"""API routes: the seed's two endpoints (same paths as before), /api/..., the schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import auth, cases, views, webhooks

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
    path("api/", include("api.decision_urls")),
    path("api/auth/token", auth.TokenLoginApi.as_view(), name="token"),
    path("api/auth/logout", auth.TokenLogoutApi.as_view(), name="logout"),
    path("api/auth/logoutall", auth.TokenLogoutAllApi.as_view(), name="logout-all"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
