"""Download views: translate a request into an export table, log it, and stream it as CSV or Excel."""

from __future__ import annotations

from django.contrib import admin
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse

from dashboard.access import scores_view_required
from dashboard.links import DashboardView
from detection.models import TransactionScore
from detection.selectors import NoActiveModel

from .formats import csv_chunks, xlsx_file
from .models import ExportLog
from .selectors import ExportTable, customer_transactions_export, drilldown_export, queue_export
from .services import record_export

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(table: ExportTable, file_format: str) -> HttpResponse:
    """The table as a streamed CSV or an Excel file written row by row to disk, as an attachment."""
    if file_format == ExportLog.Format.CSV:
        response = StreamingHttpResponse(csv_chunks(table.headers, table.rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{table.name}.csv"'
        return response
    return FileResponse(
        xlsx_file(table.headers, table.rows), as_attachment=True, filename=f"{table.name}.xlsx", content_type=XLSX_TYPE
    )


@scores_view_required
def queue_download(request: HttpRequest, file_format: str) -> HttpResponse:
    """The admin's review queue with the same filters, search and order as its query string."""
    model_admin = admin.site.get_model_admin(TransactionScore)
    queryset = model_admin.get_changelist_instance(request).get_queryset(request)
    record_export(user=request.user, kind=ExportLog.Kind.QUEUE, file_format=file_format, parameters=request.GET.dict())
    return download(queue_export(queryset), file_format)


@scores_view_required
def drilldown_download(request: HttpRequest, file_format: str) -> HttpResponse:
    """The dashboard's drill-down for `?customer=&metric=` (the dashboard link's parameters)."""
    view = DashboardView.from_query(request.GET)
    customer, metric = view.customer, view.metric
    try:
        table = drilldown_export(metric=metric, customer_id=customer)
    except NoActiveModel as exc:
        raise Http404("No model has been trained yet.") from exc
    parameters = {"customer": customer, "metric": metric}
    record_export(user=request.user, kind=ExportLog.Kind.DRILLDOWN, file_format=file_format, parameters=parameters)
    return download(table, file_format)


@scores_view_required
def customer_transactions_download(request: HttpRequest, customer_id: str, file_format: str) -> HttpResponse:
    """Every scored row of one customer."""
    try:
        table = customer_transactions_export(int(customer_id))
    except NoActiveModel as exc:
        raise Http404("No model has been trained yet.") from exc
    kind = ExportLog.Kind.CUSTOMER_TRANSACTIONS
    record_export(user=request.user, kind=kind, file_format=file_format, parameters={"customer": int(customer_id)})
    return download(table, file_format)
