"""Routes of the decision endpoints, mounted at /api/."""

from django.urls import path

from . import decisions

urlpatterns = [
    path("policies/", decisions.PolicyListApi.as_view(), name="policies"),
    path("policies/<int:pk>", decisions.PolicyDetailApi.as_view(), name="policy"),
    path("policies/<int:pk>/rules", decisions.PolicyRuleCreateApi.as_view(), name="policy-rules"),
    path("policies/<int:pk>/thresholds", decisions.PolicyThresholdsApi.as_view(), name="policy-thresholds"),
    path("policies/<int:pk>/backtest", decisions.PolicyBacktestApi.as_view(), name="policy-backtest"),
    path("policies/<int:pk>/publish", decisions.PolicyPublishApi.as_view(), name="policy-publish"),
    path("thresholds", decisions.ThresholdViewApi.as_view(), name="thresholds"),
    path("lists/", decisions.ValueListApi.as_view(), name="lists"),
    path("lists/<int:pk>", decisions.ValueListDetailApi.as_view(), name="list"),
    path("lists/<int:pk>/entries", decisions.ListEntriesApi.as_view(), name="list-entries"),
    path("lists/<int:pk>/entries/<int:entry_pk>", decisions.ListEntryDetailApi.as_view(), name="list-entry"),
]
