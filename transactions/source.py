"""Streaming reader of the Kaggle "E-Commerce Data" CSV (plain or gzip): limits, line accounting, raw strings.

Pure I/O, numpy and pandas: no ORM. The file is read in bounded blocks of whole lines, never whole,
and is refused as a whole (SourceError) when it breaks a limit. Every non-blank data line becomes
either a row of raw strings with its physical line number or a bad line with its raw text and
reason, so nothing is silently dropped. One physical line is one record: a line whose quotes do
not balance is a bad line (the Kaggle file has no multi-line fields).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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
HEAD_BYTES = 64 * 1024
_NEWLINE, _CR, _COMMA, _QUOTE, _NUL = (ord(c) for c in "\n\r,\"\x00")
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[ord(c) for c in " \t\r\n\x0b\x0c"]] = True


class SourceError(ValueError):
    """The file as a whole cannot be ingested (wrong header, encoding, a limit broken, or no rows)."""


@dataclass(frozen=True)
class Limits:
    """What a source file may not exceed; breaking one refuses the whole file."""

    max_decompressed_bytes: int = 1024**3
    max_line_bytes: int = 64 * 1024
    # Lines with more fields are bad lines, refused before any parser sees them.
    max_fields: int = 64
    # The Kaggle file inflates about 6x; a gzip bomb of repeated bytes, about 1000x.
    max_compression_ratio: float = 100.0
    # The ratio is only judged past this many decompressed bytes (small files may compress well).
    ratio_check_after_bytes: int = 16 * 1024 * 1024
    # One block of whole lines is one chunk: about 50,000 lines of the Kaggle file.
    block_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True)
class SourceInfo:
    """What a first pass over the file found: identity, size, encoding and its count of data lines."""

    name: str
    sha256: str  # of the decompressed content, so the .csv and .csv.gz of one file match
    size_bytes: int  # decompressed
    encoding: str
    data_lines: int  # non-blank lines after the header


@dataclass
class SourceChunk:
    """One block of whole lines: its rows of raw strings and its bad lines."""

    rows: pd.DataFrame  # EXPECTED_COLUMNS as strings, plus `line_number`
    bad_lines: pd.DataFrame  # line_number, raw, reason
    lines_read: int  # non-blank data lines in the block
    encoding: str
    _block: bytes
    _first_line: int
    _starts: np.ndarray
    _ends: np.ndarray

    def raw_text(self, line_numbers: np.ndarray) -> list[str]:
        """Return the source text of the given line numbers of this chunk (NUL shown as U+FFFD)."""
        index = np.asarray(line_numbers, dtype=np.int64) - self._first_line
        return _decode_lines(self._block, self._starts[index], self._ends[index], self.encoding)


@dataclass
class SourceFile:
    """A whole source file read into memory: raw rows and bad lines (see `read_source`)."""

    name: str
    sha256: str
    size_bytes: int
    encoding: str
    rows: pd.DataFrame  # EXPECTED_COLUMNS as strings, plus `line_number`
    bad_lines: pd.DataFrame  # line_number, raw, reason
    lines_read: int


def detect_encoding(data: bytes, declared: str) -> str:
    """Return the encoding to decode `data` with, or raise SourceError when it is not CSV text.

    The Kaggle file is latin-1. A UTF-8 file (with or without BOM) is accepted as UTF-8, because
    decoding it as latin-1 would silently garble every non-ASCII description. Only the first
    64 KiB are looked at. A stray NUL byte is a bad row, not a binary file: the file is refused
    only when its first line has one or NULs are over 1% of the head (UTF-16 text is ~50% NUL).
    """
    head = data[:HEAD_BYTES]
    first_line = head.split(b"\n", 1)[0]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in first_line or head.count(b"\x00") * 100 > len(head):
        raise SourceError("the file is not latin-1 or UTF-8 text (it looks like UTF-16 or binary): re-save it as CSV")
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if _is_latin1(declared) and not head.isascii():
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 3:  # not just a character cut at the end of the head
                return declared
        return "utf-8"
    return declared


def _is_latin1(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in {"latin-1", "latin1", "iso-8859-1"}


def _open(path: Path) -> tuple[BinaryIO, BinaryIO | None]:
    """Return a stream of the file's content (gunzipped when gzip) and the raw handle when compressed."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw
    raw.seek(0)
    return raw, None


def _blocks(path: Path, limits: Limits) -> Iterator[tuple[bytes, int]]:
    """Yield (block of whole lines, line number of its first line) over the decompressed file.

    Memory is bounded by one block plus one line: a line longer than the limit, a file bigger than
    the limit or a gzip inflating too much is refused as soon as it is seen.
    """
    stream, compressed = _open(path)
    tail = b""
    total = 0
    line_number = 1
    try:
        while True:
            try:
                piece = stream.read(limits.block_bytes)
            except (OSError, EOFError, zlib.error) as exc:
                raise SourceError(f"{path.name}: cannot be read ({exc})") from exc
            total += len(piece)
            _check_size(path, total, compressed, limits)
            if not piece:
                if tail:
                    yield tail, line_number
                return
            data = tail + piece if tail else piece
            cut = data.rfind(b"\n") + 1
            tail = data[cut:]
            if len(tail) > limits.max_line_bytes:
                at = line_number + data.count(b"\n", 0, cut)
                raise SourceError(_long_line(path, at, limits))
            if cut:
                block = data[:cut]
                yield block, line_number
                line_number += block.count(b"\n")
    finally:
        stream.close()
        if compressed is not None:
            compressed.close()


def _check_size(path: Path, total: int, compressed: BinaryIO | None, limits: Limits) -> None:
    if total > limits.max_decompressed_bytes:
        raise SourceError(
            f"{path.name}: more than {limits.max_decompressed_bytes:,} bytes of data "
            "(INGEST_MAX_DECOMPRESSED_BYTES); split the file"
        )
    if compressed is not None and total > limits.ratio_check_after_bytes:
        ratio = total / max(compressed.tell(), 1)
        if ratio > limits.max_compression_ratio:
            raise SourceError(
                f"{path.name}: the gzip inflates {ratio:,.0f} times (limit {limits.max_compression_ratio:,.0f}, "
                "INGEST_MAX_COMPRESSION_RATIO); it is not a plausible data file"
            )


def _long_line(path: Path, line_number: int, limits: Limits) -> str:
    return f"{path.name}: line {line_number:,} is longer than {limits.max_line_bytes:,} bytes (INGEST_MAX_LINE_BYTES)"


def _line_bounds(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each line's start and end (before its newline) as byte offsets into the block."""
    ends = np.flatnonzero(array == _NEWLINE)
    if len(array) and array[-1] != _NEWLINE:
        ends = np.append(ends, len(array))
    starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else ends
    return starts.astype(np.int64), ends.astype(np.int64)


def _per_line(array: np.ndarray, starts: np.ndarray, byte: int) -> np.ndarray:
    """Return how many times `byte` occurs in each line (the lines cover the block contiguously)."""
    if len(starts) == 0 or not (array == byte).any():
        return np.zeros(len(starts), dtype=np.int64)
    return np.add.reduceat(array == byte, starts, dtype=np.int64)


def _blank(array: np.ndarray, starts: np.ndarray, commas: np.ndarray) -> np.ndarray:
    """Return which lines hold only whitespace; only lines without a comma are looked at."""
    candidates = commas == 0
    if not candidates.any():
        return candidates
    return candidates & (np.add.reduceat(~_WHITESPACE[array], starts, dtype=np.int64) == 0)


def inspect_source(path: Path | str, *, encoding: str = "latin-1", limits: Limits | None = None) -> SourceInfo:
    """Return the file's identity, encoding and count of data lines, reading it once as a stream.

    Raises SourceError when the file as a whole cannot be ingested: missing, empty, unreadable,
    UTF-16 or binary, wrong header, no rows, or over a limit. Nothing is parsed here.
    """
    path = Path(path)
    limits = limits or Limits()
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    digest = hashlib.sha256()
    size = data_lines = 0
    header: bytes | None = None
    utf8 = codecs.getincrementaldecoder("utf-8")()
    detected = encoding
    ascii_only, valid_utf8 = True, _is_latin1(encoding)
    for block, first_line in _blocks(path, limits):
        digest.update(block)
        size += len(block)
        array = np.frombuffer(block, dtype=np.uint8)
        starts, ends = _line_bounds(array)
        lengths = ends - starts
        if lengths.max() > limits.max_line_bytes:
            raise SourceError(_long_line(path, first_line + int(np.argmax(lengths > limits.max_line_bytes)), limits))
        blank = _blank(array, starts, _per_line(array, starts, _COMMA))
        if header is None:
            header = block[: ends[0]]
            detected = detect_encoding(block, encoding)
            if header.strip():
                _check_header(header, detected)
            blank[0] = True  # the header is not a data line
        data_lines += int((~blank).sum())
        ascii_only = ascii_only and block.isascii()
        if valid_utf8 and not ascii_only:
            valid_utf8 = _decodes(utf8, block)
    if header is None or (data_lines == 0 and not header.strip()):
        raise SourceError(f"{path.name}: the file is empty")
    _check_header(header, detected)
    if data_lines == 0:
        raise SourceError(f"{path.name}: the file has a header but no rows")
    if detected != "utf-8-sig" and _is_latin1(encoding):
        # Decided on the whole file, as a head alone may be ASCII or cut inside a character.
        detected = "utf-8" if not ascii_only and valid_utf8 and _decodes(utf8, b"", final=True) else encoding
    return SourceInfo(
        name=path.name, sha256=digest.hexdigest(), size_bytes=size, encoding=detected, data_lines=data_lines
    )


def _decodes(decoder: codecs.IncrementalDecoder, data: bytes, *, final: bool = False) -> bool:
    """Return whether `data` continues valid text for `decoder`."""
    try:
        decoder.decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _check_header(first_line: bytes, encoding: str) -> None:
    text = first_line.decode(encoding, errors="replace").lstrip("\ufeff")
    header = [name.strip().strip('"') for name in text.strip().split(",")]
    if header != EXPECTED_COLUMNS:
        raise SourceError(f"wrong header {','.join(header)!r}: expected {','.join(EXPECTED_COLUMNS)!r}")


def iter_chunks(path: Path | str, info: SourceInfo, *, limits: Limits | None = None) -> Iterator[SourceChunk]:
    """Yield the file's chunks of rows and bad lines, reading it again as a stream.

    Raises SourceError when the content is no longer the one `inspect_source` saw.
    """
    path = Path(path)
    limits = limits or Limits()
    digest = hashlib.sha256()
    for block, first_line in _blocks(path, limits):
        digest.update(block)
        yield _parse_block(block, first_line, info.encoding, limits)
    if digest.hexdigest() != info.sha256:
        raise SourceError(f"{path.name}: the file changed while it was being read")


def _parse_block(block: bytes, first_line: int, encoding: str, limits: Limits) -> SourceChunk:
    """Return the rows and bad lines of one block of whole lines."""
    array = np.frombuffer(block, dtype=np.uint8)
    starts, ends = _line_bounds(array)
    # A line ending in \r\n is one line; its \r is not part of its text.
    final_cr = ((ends > starts) & (array[np.maximum(ends - 1, 0)] == _CR)).astype(np.int64)
    ends = ends - final_cr
    numbers = first_line + np.arange(len(starts), dtype=np.int64)
    commas = _per_line(array, starts, _COMMA)
    quotes = _per_line(array, starts, _QUOTE)
    nuls = _per_line(array, starts, _NUL)
    data = ~_blank(array, starts, commas) & (numbers > 1)
    # pandas ends a record at a lone \r: only the \r of \r\n may be in a line.
    inner_cr = _per_line(array, starts, _CR) - final_cr

    reasons = np.full(len(starts), None, dtype=object)
    fields = commas + 1
    _set_reason(reasons, data & (nuls > 0), "NUL byte in the line")
    _set_reason(reasons, data & (inner_cr > 0), "carriage return inside the line")
    _set_reason(reasons, data & (quotes % 2 == 1), "unbalanced quote (a field may span lines)")
    too_many = f"more than {limits.max_fields} fields (INGEST_MAX_FIELDS)"
    _set_reason(reasons, data & (fields > limits.max_fields), too_many)
    plain = data & (quotes == 0) & pd.isna(reasons)
    wrong_count = plain & (fields != len(EXPECTED_COLUMNS))
    reasons[wrong_count] = [f"wrong number of fields: expected 8 fields, saw {n}" for n in fields[wrong_count]]

    plain_rows = _parse_plain(array, starts, ends, plain & ~wrong_count, numbers, encoding)
    quoted = data & (quotes > 0) & pd.isna(reasons)
    quoted_rows, quoted_reasons = _parse_quoted(block, starts[quoted], ends[quoted], numbers[quoted], encoding)
    reasons[np.flatnonzero(quoted)[quoted_reasons.notna().to_numpy()]] = quoted_reasons.dropna().to_numpy()
    rows = pd.concat([plain_rows, quoted_rows], ignore_index=True) if len(quoted_rows) else plain_rows
    if len(quoted_rows):
        rows = rows.sort_values("line_number", kind="stable", ignore_index=True)

    bad = np.flatnonzero(data & pd.notna(reasons))
    bad_lines = pd.DataFrame(
        {
            "line_number": numbers[bad],
            "raw": _decode_lines(block, starts[bad], ends[bad], encoding),
            "reason": reasons[bad].astype(str),
        }
    )
    return SourceChunk(
        rows=rows,
        bad_lines=bad_lines,
        lines_read=int(data.sum()),
        encoding=encoding,
        _block=block,
        _first_line=first_line,
        _starts=starts,
        _ends=ends,
    )


def _set_reason(reasons: np.ndarray, mask: np.ndarray, message: str) -> None:
    """Set `message` on lines in `mask` that have no reason yet (in place)."""
    reasons[mask & pd.isna(reasons)] = message


def _empty_rows() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series([], dtype=object) for column in EXPECTED_COLUMNS})
    frame["line_number"] = np.zeros(0, dtype=np.int64)
    return frame


def _parse_plain(
    array: np.ndarray, starts: np.ndarray, ends: np.ndarray, keep: np.ndarray, numbers: np.ndarray, encoding: str
) -> pd.DataFrame:
    """Return the rows of the lines in `keep`: no quote, no NUL, eight fields each, parsed by pandas."""
    if not keep.any():
        return _empty_rows()
    # Keep only the bytes of the kept lines (their newline included), without a loop over lines.
    spans = np.diff(np.append(starts, len(array)))
    text = array[np.repeat(keep, spans)].tobytes()
    rows = pd.read_csv(
        io.BytesIO(text),
        header=None,
        names=EXPECTED_COLUMNS,
        index_col=False,
        dtype=str,
        keep_default_na=False,
        na_values=[],
        quoting=csv.QUOTE_NONE,
        skip_blank_lines=False,
        encoding=encoding,
        encoding_errors="replace",
        engine="c",
    )
    kept = numbers[keep]
    if len(rows) != len(kept):  # cannot happen for lines checked above; never mislabel a row
        raise RuntimeError(f"pandas read {len(rows)} rows from {len(kept)} lines starting at line {kept[0]}")
    rows["line_number"] = kept
    return rows


def _parse_quoted(
    block: bytes, starts: np.ndarray, ends: np.ndarray, numbers: np.ndarray, encoding: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Return the rows of the lines with quotes (about 1% of the Kaggle file), and a reason per line.

    Each line is parsed on its own by the csv module, so a quote cannot join two lines.
    """
    reasons = pd.Series([None] * len(numbers), dtype=object)
    if len(numbers) == 0:
        return _empty_rows(), reasons
    parsed = [next(csv.reader([text]), []) for text in _decode_lines(block, starts, ends, encoding)]
    counts = np.fromiter(map(len, parsed), dtype=np.int64, count=len(parsed))
    good = counts == len(EXPECTED_COLUMNS)
    reasons[~good] = [f"wrong number of fields: expected 8 fields, saw {n}" for n in counts[~good]]
    rows = pd.DataFrame([fields for fields, ok in zip(parsed, good, strict=True) if ok], columns=EXPECTED_COLUMNS)
    if len(rows) == 0:
        rows = _empty_rows()
    rows["line_number"] = numbers[good]
    return rows, reasons


def _decode_lines(block: bytes, starts: np.ndarray, ends: np.ndarray, encoding: str) -> list[str]:
    """Return the text of the given lines; NUL, which PostgreSQL refuses in text, becomes U+FFFD."""
    return [
        block[start:end].decode(encoding, errors="replace").replace("\x00", "\ufffd")
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def read_source(path: Path | str, *, encoding: str = "latin-1", limits: Limits | None = None) -> SourceFile:
    """Return the whole parsed source file at `path`; raise SourceError when it cannot be ingested at all.

    Holds every row in memory: ingest streams with `inspect_source` and `iter_chunks` instead.
    """
    info = inspect_source(path, encoding=encoding, limits=limits)
    chunks = list(iter_chunks(path, info, limits=limits))
    return SourceFile(
        name=info.name,
        sha256=info.sha256,
        size_bytes=info.size_bytes,
        encoding=info.encoding,
        rows=pd.concat([chunk.rows for chunk in chunks], ignore_index=True),
        bad_lines=pd.concat([chunk.bad_lines for chunk in chunks], ignore_index=True),
        lines_read=sum(chunk.lines_read for chunk in chunks),
    )
