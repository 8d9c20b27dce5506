"""Routes of the decision endpoints, mounted at /api/."""

from django.urls import path

from . import decisions
from .routes import resource

urlpatterns = [
    *resource(
        "policies/",
        ("policies", "policy"),
        decisions.PolicyListApi,
        decisions.PolicyDetailApi,
        rules=decisions.PolicyRuleCreateApi,
        thresholds=decisions.PolicyThresholdsApi,
        backtest=decisions.PolicyBacktestApi,
        publish=decisions.PolicyPublishApi,
    ),
    path("thresholds", decisions.ThresholdViewApi.as_view(), name="thresholds"),
    *resource(
        "lists/",
        ("lists", "list"),
        decisions.ValueListApi,
        decisions.ValueListDetailApi,
        entries=decisions.ListEntriesApi,
    ),
    path("lists/<int:pk>/entries/<int:entry_pk>", decisions.ListEntryDetailApi.as_view(), name="list-entry"),
]
