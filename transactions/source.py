"""Streaming reader of the Kaggle "E-Commerce Data" CSV (plain or gzip): limits, line accounting, raw strings.

Pure I/O, numpy and pandas: no ORM. The file is read in bounded blocks of whole lines, never whole,
and is refused as a whole (SourceError) when it breaks a limit. Every non-blank data line becomes
either a row of raw strings with its physical line number or a bad line with its raw text and
reason (see `lines`), so nothing is silently dropped. One physical line is one record: a line whose
quotes do not balance is a bad line (the Kaggle file has no multi-line fields).
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from .lines import COMMA, blank_lines, decode_lines, line_bounds, parse_block, per_line

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
        return decode_lines(self._block, self._starts[index], self._ends[index], self.encoding)


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
        starts, ends = line_bounds(array)
        lengths = ends - starts
        if lengths.max() > limits.max_line_bytes:
            raise SourceError(_long_line(path, first_line + int(np.argmax(lengths > limits.max_line_bytes)), limits))
        blank = blank_lines(array, starts, per_line(array, starts, COMMA))
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
        parsed = parse_block(
            block, first_line, columns=EXPECTED_COLUMNS, encoding=info.encoding, max_fields=limits.max_fields
        )
        yield SourceChunk(
            rows=parsed.rows,
            bad_lines=parsed.bad_lines,
            lines_read=parsed.lines_read,
            encoding=info.encoding,
            _block=block,
            _first_line=first_line,
            _starts=parsed.starts,
            _ends=parsed.ends,
        )
    if digest.hexdigest() != info.sha256:
        raise SourceError(f"{path.name}: the file changed while it was being read")


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
