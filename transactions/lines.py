"""One block of whole CSV lines turned into rows of raw strings and bad lines, every line at once.

Pure numpy and pandas. Field counts, NUL bytes, stray carriage returns and unbalanced quotes are
counted per line with numpy before any parser sees a line; pandas reads only the plain lines with
the expected number of fields, and the csv module the few quoted ones, one line at a time, so a
quote can never join two lines and no row is shifted or lost.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

NEWLINE, CR, COMMA, QUOTE, NUL = (ord(c) for c in '\n\r,"\x00')
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[ord(c) for c in " \t\r\n\x0b\x0c"]] = True


@dataclass
class ParsedBlock:
    """The rows and bad lines of one block, and where each of its lines starts and ends."""

    rows: pd.DataFrame  # the columns as strings, plus `line_number`
    bad_lines: pd.DataFrame  # line_number, raw, reason
    lines_read: int  # non-blank data lines
    starts: np.ndarray  # byte offset of each line
    ends: np.ndarray  # byte offset of each line's end, before any \r\n


def line_bounds(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each line's start and end (before its newline) as byte offsets into the block."""
    ends = np.flatnonzero(array == NEWLINE)
    if len(array) and array[-1] != NEWLINE:
        ends = np.append(ends, len(array))
    starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else ends
    return starts.astype(np.int64), ends.astype(np.int64)


def per_line(array: np.ndarray, starts: np.ndarray, byte: int) -> np.ndarray:
    """Return how many times `byte` occurs in each line (the lines cover the block contiguously)."""
    hits = np.flatnonzero(array == byte)
    if len(starts) == 0 or len(hits) == 0:
        return np.zeros(len(starts), dtype=np.int64)
    # Hits before each line's start: a line's count is the step to the next line's (no int64 copy
    # of the whole block, as a reduceat over the bytes makes).
    before = np.searchsorted(hits, starts)
    return np.diff(before, append=len(hits)).astype(np.int64)


def blank_lines(array: np.ndarray, starts: np.ndarray, commas: np.ndarray) -> np.ndarray:
    """Return which lines hold only whitespace; only lines without a comma are looked at."""
    candidates = commas == 0
    if not candidates.any():
        return candidates
    return candidates & (np.add.reduceat(~_WHITESPACE[array], starts, dtype=np.int64) == 0)


def parse_block(block: bytes, first_line: int, *, columns: list[str], encoding: str, max_fields: int) -> ParsedBlock:
    """Return the rows and bad lines of one block of whole lines; line 1 (the header) is skipped."""
    array = np.frombuffer(block, dtype=np.uint8)
    starts, ends = line_bounds(array)
    # A line ending in \r\n is one line; its \r is not part of its text.
    final_cr = ((ends > starts) & (array[np.maximum(ends - 1, 0)] == CR)).astype(np.int64)
    ends = ends - final_cr
    numbers = first_line + np.arange(len(starts), dtype=np.int64)
    commas = per_line(array, starts, COMMA)
    quotes = per_line(array, starts, QUOTE)
    nuls = per_line(array, starts, NUL)
    data = ~blank_lines(array, starts, commas) & (numbers > 1)
    # pandas ends a record at a lone \r: only the \r of \r\n may be in a line.
    inner_cr = per_line(array, starts, CR) - final_cr

    reasons = np.full(len(starts), None, dtype=object)
    fields = commas + 1
    _set_reason(reasons, data & (nuls > 0), "NUL byte in the line")
    _set_reason(reasons, data & (inner_cr > 0), "carriage return inside the line")
    _set_reason(reasons, data & (quotes % 2 == 1), "unbalanced quote (a field may span lines)")
    too_many = f"more than {max_fields} fields (INGEST_MAX_FIELDS)"
    _set_reason(reasons, data & (fields > max_fields), too_many)
    plain = data & (quotes == 0) & pd.isna(reasons)
    wrong_count = plain & (fields != len(columns))
    reasons[wrong_count] = [_wrong_count(columns, n) for n in fields[wrong_count]]

    plain_rows = _parse_plain(array, starts, plain & ~wrong_count, numbers, columns, encoding)
    quoted = data & (quotes > 0) & pd.isna(reasons)
    quoted_rows, quoted_reasons = _parse_quoted(block, starts[quoted], ends[quoted], numbers[quoted], columns, encoding)
    reasons[np.flatnonzero(quoted)[quoted_reasons.notna().to_numpy()]] = quoted_reasons.dropna().to_numpy()
    rows = pd.concat([plain_rows, quoted_rows], ignore_index=True) if len(quoted_rows) else plain_rows
    if len(quoted_rows):
        rows = rows.sort_values("line_number", kind="stable", ignore_index=True)

    bad = np.flatnonzero(data & pd.notna(reasons))
    bad_lines = pd.DataFrame(
        {
            "line_number": numbers[bad],
            "raw": decode_lines(block, starts[bad], ends[bad], encoding),
            "reason": reasons[bad].astype(str),
        }
    )
    return ParsedBlock(rows=rows, bad_lines=bad_lines, lines_read=int(data.sum()), starts=starts, ends=ends)


def _wrong_count(columns: list[str], count: int) -> str:
    return f"wrong number of fields: expected {len(columns)} fields, saw {count}"


def _set_reason(reasons: np.ndarray, mask: np.ndarray, message: str) -> None:
    """Set `message` on lines in `mask` that have no reason yet (in place)."""
    reasons[mask & pd.isna(reasons)] = message


def _empty_rows(columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series([], dtype=object) for column in columns})
    frame["line_number"] = np.zeros(0, dtype=np.int64)
    return frame


def _parse_plain(
    array: np.ndarray, starts: np.ndarray, keep: np.ndarray, numbers: np.ndarray, columns: list[str], encoding: str
) -> pd.DataFrame:
    """Return the rows of the lines in `keep` (no quote, no NUL, the right field count), parsed by pandas."""
    if not keep.any():
        return _empty_rows(columns)
    # Keep only the bytes of the kept lines (their newline included): one slice per run of kept
    # lines (runs are split only by the few quoted or bad lines), no loop over lines.
    edges = np.flatnonzero(np.diff(np.concatenate(([False], keep, [False])).astype(np.int8)))
    bounds = np.append(starts, len(array))
    view = memoryview(array)
    text = b"".join(view[start:end] for start, end in zip(bounds[edges[::2]], bounds[edges[1::2]], strict=True))
    rows = pd.read_csv(
        io.BytesIO(text),
        header=None,
        names=columns,
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
    block: bytes, starts: np.ndarray, ends: np.ndarray, numbers: np.ndarray, columns: list[str], encoding: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Return the rows of the lines with quotes (about 1% of the Kaggle file), and a reason per line.

    Each line is parsed on its own by the csv module, so a quote cannot join two lines.
    """
    reasons = pd.Series([None] * len(numbers), dtype=object)
    if len(numbers) == 0:
        return _empty_rows(columns), reasons
    parsed = [next(csv.reader([text]), []) for text in decode_lines(block, starts, ends, encoding)]
    counts = np.fromiter(map(len, parsed), dtype=np.int64, count=len(parsed))
    good = counts == len(columns)
    reasons[~good] = [_wrong_count(columns, n) for n in counts[~good]]
    rows = pd.DataFrame([fields for fields, ok in zip(parsed, good, strict=True) if ok], columns=columns)
    if len(rows) == 0:
        rows = _empty_rows(columns)
    rows["line_number"] = numbers[good]
    return rows, reasons


def decode_lines(block: bytes, starts: np.ndarray, ends: np.ndarray, encoding: str) -> list[str]:
    """Return the text of the given lines; NUL, which PostgreSQL refuses in text, becomes U+FFFD."""
    return [
        block[start:end].decode(encoding, errors="replace").replace("\x00", "\ufffd")
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
