"""Export routes: /exports/<what>.csv or .xlsx."""

from django.urls import re_path

from . import views

app_name = "exports"
FORMAT = r"\.(?P<file_format>csv|xlsx)$"
urlpatterns = [
    re_path(rf"^exports/queue{FORMAT}", views.queue_download, name="queue"),
    re_path(rf"^exports/drilldown{FORMAT}", views.drilldown_download, name="drilldown"),
    re_path(
        rf"^exports/customers/(?P<customer_id>[0-9]{{1,9}})/transactions{FORMAT}",
        views.customer_transactions_download,
        name="customer",
    ),
]
