"""Reading the Kaggle "E-Commerce Data" CSV (plain or gzip) into a frame of raw strings.

Pure I/O and pandas: no ORM. Every good row keeps its physical line number; rows with the wrong
number of fields come back separately with their raw text, so nothing is silently dropped.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

EXPECTED_COLUMNS = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
_SKIPPED_LINE = re.compile(r"Skipping line (\d+): (.*)")


class SourceError(ValueError):
    """The file as a whole cannot be ingested (wrong header, encoding, or no rows)."""


@dataclass
class SourceFile:
    """A decoded source file: raw rows, their line numbers, and the lines that did not parse."""

    name: str
    sha256: str
    size_bytes: int
    encoding: str
    rows: pd.DataFrame  # EXPECTED_COLUMNS as strings, plus `line_number`
    bad_lines: pd.DataFrame  # line_number, raw, reason
    lines: list[bytes]

    def raw_text(self, line_numbers: np.ndarray) -> list[str]:
        """Return the source text of the given 1-based line numbers."""
        return [self.lines[n - 1].decode(self.encoding, errors="replace").rstrip("\r") for n in line_numbers]


def read_bytes(path: Path) -> bytes:
    """Return the file's content, gunzipped when it is gzip-compressed."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as handle:
            return handle.read()
    except (OSError, EOFError) as exc:
        raise SourceError(f"{path.name}: cannot be read ({exc})") from exc


def detect_encoding(data: bytes, declared: str) -> str:
    """Return the encoding to decode `data` with, or raise SourceError when it is not CSV text.

    The Kaggle file is latin-1. A UTF-8 file (with or without BOM) is accepted as UTF-8, because
    decoding it as latin-1 would silently garble every non-ASCII description.
    """
    head = data[:65536]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise SourceError("the file is not latin-1 or UTF-8 text (it looks like UTF-16 or binary): re-save it as CSV")
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if declared.lower().replace("_", "-") in {"latin-1", "latin1", "iso-8859-1"} and not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return declared
        return "utf-8"
    return declared


def _check_header(first_line: bytes, encoding: str) -> None:
    header = [name.strip().strip('"') for name in first_line.decode(encoding, errors="replace").strip().split(",")]
    if header != EXPECTED_COLUMNS:
        raise SourceError(f"wrong header {','.join(header)!r}: expected {','.join(EXPECTED_COLUMNS)!r}")


def read_source(path: Path, *, encoding: str = "latin-1") -> SourceFile:
    """Return the parsed source file at `path`; raise SourceError when it cannot be ingested at all."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    data = read_bytes(path)
    if not data.strip():
        raise SourceError(f"{path.name}: the file is empty")
    encoding = detect_encoding(data, encoding)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    _check_header(lines[0], encoding)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = pd.read_csv(
            io.BytesIO(data),
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            on_bad_lines="warn",
            skip_blank_lines=True,
            engine="c",
        )
    bad = [_SKIPPED_LINE.match(str(w.message)) for w in caught]
    bad = [m for m in bad if m]
    bad_numbers = np.array([int(m.group(1)) for m in bad], dtype=np.int64)
    bad_lines = pd.DataFrame(
        {
            "line_number": bad_numbers,
            "reason": [f"wrong number of fields: {m.group(2).strip()}" for m in bad],
        }
    )
    if len(rows) == 0 and len(bad_lines) == 0:
        raise SourceError(f"{path.name}: the file has a header but no rows")

    rows["line_number"] = _good_line_numbers(lines, bad_numbers, len(rows))
    source = SourceFile(
        name=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        encoding=encoding,
        rows=rows,
        bad_lines=bad_lines,
        lines=lines,
    )
    _move_short_rows_to_bad_lines(source)
    source.bad_lines["raw"] = source.raw_text(source.bad_lines["line_number"].to_numpy())
    return source


def _move_short_rows_to_bad_lines(source: SourceFile) -> None:
    """Move rows with fewer than 8 fields (pandas pads them with "") to `bad_lines` (in place).

    Only rows whose last field is empty can be short, so only those few lines are re-read.
    """
    suspects = source.rows.index[source.rows[EXPECTED_COLUMNS[-1]] == ""]
    if len(suspects) == 0:
        return
    numbers = source.rows.loc[suspects, "line_number"].to_numpy()
    counts = np.array([len(fields) for fields in csv.reader(source.raw_text(numbers))], dtype=np.int64)
    short = counts < len(EXPECTED_COLUMNS)
    if not short.any():
        return
    reasons = [f"wrong number of fields: expected 8 fields, saw {count}" for count in counts[short]]
    source.bad_lines = pd.concat(
        [source.bad_lines, pd.DataFrame({"line_number": numbers[short], "reason": reasons})], ignore_index=True
    )
    source.rows = source.rows.drop(index=suspects[short])


def _good_line_numbers(lines: list[bytes], bad_numbers: np.ndarray, n_rows: int) -> np.ndarray:
    """Return the 1-based line number of each parsed row, skipping blank and unparseable lines.

    Assumes one record per physical line (true of the Kaggle file); when a quoted field spans lines
    the counts disagree and the numbers are approximate (row order + 2).
    """
    lengths = np.fromiter(map(len, map(bytes.strip, lines)), dtype=np.int64, count=len(lines))
    candidates = np.flatnonzero(lengths > 0) + 1  # 1-based, non-blank
    candidates = candidates[candidates > 1]  # the header is line 1
    candidates = candidates[~np.isin(candidates, bad_numbers)]
    if len(candidates) == n_rows:
        return candidates
    return np.arange(2, n_rows + 2, dtype=np.int64)
