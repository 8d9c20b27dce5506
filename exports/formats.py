"""Writing rows as CSV or Excel without holding them all, every text cell safe from formula injection."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

import xlsxwriter

# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Any) -> Any:
    """`value` for a cell: text that could start a formula gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def cell(value: Any) -> Any:
    """A plain cell value: dates as "YYYY-MM-DD HH:MM:SS", decimals as floats, None as ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Decimal):
        return float(value)
    return neutralised(value)


class _Line:
    """A file-like object whose write() returns what it was given, for csv.writer in a generator."""

    def write(self, text: str) -> str:
        return text


def csv_chunks(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV text in chunks of `rows_per_chunk` lines, header first (UTF-8 BOM so Excel reads accents)."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow([neutralised(name) for name in headers])
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow([cell(value) for value in row]))
        if len(chunk) >= rows_per_chunk:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def xlsx_file(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Rows") -> IO[bytes]:
    """An open temporary .xlsx file (already unlinked) with the rows; XlsxWriter's constant_memory
    mode flushes each row to disk as it is written."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False}
    workbook = xlsxwriter.Workbook(path, {**options, "strings_to_urls": False})
    try:
        worksheet = workbook.add_worksheet(sheet)
        bold = workbook.add_format({"bold": True})
        worksheet.write_row(0, 0, [neutralised(name) for name in headers], bold)
        for index, row in enumerate(rows, start=1):
            worksheet.write_row(index, 0, [cell(value) for value in row])
        workbook.close()
        stream = open(path, "rb")  # noqa: SIM115 - handed to FileResponse, which closes it
    finally:
        os.unlink(path)
    return stream
