"""API routes: the seed's two endpoints (same paths as before), /api/..., the schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import auth, cases, views, webhooks
from .routes import resource

app_name = "api"

urlpatterns = [
    path("customer_ids", views.CustomerIdListApi.as_view(), name="customer-ids"),
    path("api/anomalies", views.AnomalyListApi.as_view(), name="anomalies"),
    path("api/score", views.TransactionScoreApi.as_view(), name="score"),
    path("api/transactions/", views.TransactionListApi.as_view(), name="transactions"),
    *resource("api/models", ("models", "model"), views.ModelVersionListApi, views.ModelVersionDetailApi),
    path("api/health", views.HealthApi.as_view(), name="health"),
    path("api/jobs/", include("api.job_urls")),
    *resource("api/cases", ("cases", "case"), cases.CaseListApi, cases.CaseDetailApi, close=cases.CaseCloseApi),
    *resource(
        "api/webhooks/endpoints",
        ("webhook-endpoints", "webhook-endpoint"),
        webhooks.EndpointListCreateApi,
        webhooks.EndpointDetailApi,
    ),
    path("api/", include("api.decision_urls")),
    path("api/auth/token", auth.TokenLoginApi.as_view(), name="token"),
    path("api/auth/logout", auth.TokenLogoutApi.as_view(), name="logout"),
    path("api/auth/logoutall", auth.TokenLogoutAllApi.as_view(), name="logout-all"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
