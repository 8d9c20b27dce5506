"""The training rows a bundle judges posted rows against, column by column, with the indexes that pick
the rows one request needs (`HistoryRows.past_for`). Pure numpy/pandas; no ORM.

Columns as saved: the numbers of HISTORY_COLUMNS, `seconds` (the invoice date in epoch seconds),
`day` (its local calendar day) and the strings (invoice_no, stock_code, country, kind) as int32
codes into their sorted distinct values (`invoice_keys`, `stock_keys`, `country_keys`,
`kind_keys`): a fixed-width string column would be several times larger, and an object one
cannot be mapped. Indexes, as row positions grouped by key (ascending within a key) and each key's
offsets into them: per customer (`customer_keys`, sorted) and per StockCode code; per StockCode
code, the sorted local days with a sale line at a positive price.
Saved with the version (format 2 of the bundle), every array is memory-mapped by serving processes
(mapped_arrays.py), so a request reads only the pages its customers' and StockCodes' rows are on
and no process holds a private copy of the history; a version saved before (format 1, one
`history.npz`) gets the same arrays built in memory at load.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from .history_stats import LOCAL_TIME_ZONE, PRICE_LAG_DAYS, _epoch_seconds, _local_day
from .kinds import SALE
from .text_codes import sorted_codes

HISTORY_COLUMNS = [
    "transaction_id",
    "invoice_no",
    "stock_code",
    "quantity",
    "unit_price",
    "customer_id",
    "country",
    "quantity_vs_item",  # the line's item index at training (history.history_features reuses it)
]
SAVED_COLUMNS = [*HISTORY_COLUMNS, "kind", "seconds"]  # what a format-1 history.npz holds
VOCABULARIES = {  # string column -> its sorted distinct values
    "invoice_no": "invoice_keys",
    "stock_code": "stock_keys",
    "country": "country_keys",
    "kind": "kind_keys",
}


@dataclass(frozen=True)
class HistoryRows:
    """The training rows' columns (`columns`: SAVED_COLUMNS and `day`, strings as codes into their
    vocabularies) and their indexes."""

    columns: dict[str, np.ndarray]
    invoice_keys: np.ndarray
    stock_keys: np.ndarray
    country_keys: np.ndarray
    kind_keys: np.ndarray
    customer_keys: np.ndarray
    customer_positions: np.ndarray
    customer_offsets: np.ndarray
    stock_positions: np.ndarray
    stock_offsets: np.ndarray  # per stock_keys entry, into stock_positions
    selling_days: np.ndarray
    selling_offsets: np.ndarray  # per stock_keys entry, into selling_days

    @classmethod
    def from_columns(cls, columns: dict[str, np.ndarray]) -> HistoryRows:
        """Encode saved columns (strings as fixed-width unicode: a version of format 1, or rows kept
        by a training run) and build their indexes."""
        plain = {name: np.asarray(columns[name]) for name in SAVED_COLUMNS}
        coded = {name: values for name, values in plain.items() if name not in VOCABULARIES}
        vocabularies = {}
        for name, keys_name in VOCABULARIES.items():
            vocabularies[keys_name], codes = np.unique(plain[name], return_inverse=True)
            coded[name] = codes.astype(np.int32).reshape(-1)
        return cls._indexed(coded, vocabularies)

    @classmethod
    def from_frame(cls, history: pd.DataFrame) -> HistoryRows:
        """The rows of a frame with HISTORY_COLUMNS, `kind` and `invoice_date`, as they are saved: the
        same arrays as `from_columns(saved_columns(history))`, without a fixed-width copy of each
        string column (a training run's millions of rows)."""
        coded = {name: history[name].to_numpy() for name in HISTORY_COLUMNS if name not in VOCABULARIES}
        coded["seconds"] = _epoch_seconds(history["invoice_date"])
        vocabularies = {}
        for name, keys_name in VOCABULARIES.items():
            vocabularies[keys_name], codes = sorted_codes(history[name])
            coded[name] = codes.astype(np.int32)
        return cls._indexed(coded, vocabularies)

    @classmethod
    def _indexed(cls, coded: dict[str, np.ndarray], vocabularies: dict[str, np.ndarray]) -> HistoryRows:
        """Coded SAVED_COLUMNS with their vocabularies, their local `day` and indexes added."""
        coded["day"] = _local_day(
            pd.Series(pd.to_datetime(coded["seconds"], unit="s", utc=True)).dt.tz_convert(LOCAL_TIME_ZONE)
        )
        customers = coded["customer_id"]
        customer_positions, customer_offsets = _grouped(customers, ~pd.isna(customers))
        stock = coded["stock_code"]
        stock_positions, stock_offsets = _grouped(stock, np.ones(len(stock), dtype=bool))
        sold = (vocabularies["kind_keys"][coded["kind"]] == SALE) & (coded["unit_price"] > 0)
        selling_days, selling_offsets = _selling_days(len(vocabularies["stock_keys"]), stock[sold], coded["day"][sold])
        return cls(
            columns=coded,
            **vocabularies,
            customer_keys=np.unique(customers[~pd.isna(customers)]),
            customer_positions=customer_positions,
            customer_offsets=customer_offsets,
            stock_positions=stock_positions,
            stock_offsets=stock_offsets,
            selling_days=selling_days,
            selling_offsets=selling_offsets,
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every array by the name it is saved under."""
        arrays = {f"column__{name}": values for name, values in self.columns.items()}
        arrays.update({f.name: getattr(self, f.name) for f in fields(self) if f.name != "columns"})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> HistoryRows:
        columns = {name: arrays[f"column__{name}"] for name in [*SAVED_COLUMNS, "day"]}
        return cls(columns=columns, **{f.name: arrays[f.name] for f in fields(cls) if f.name != "columns"})

    @staticmethod
    def array_names() -> list[str]:
        """The names `to_arrays` saves, in order."""
        named = [f"column__{name}" for name in [*SAVED_COLUMNS, "day"]]
        return named + [f.name for f in fields(HistoryRows) if f.name != "columns"]

    def __len__(self) -> int:
        return len(self.columns["seconds"])

    def frame(self, positions: np.ndarray | None = None) -> pd.DataFrame:
        """The rows at `positions` (every row when None) as a frame indexed by their positions: the
        HISTORY_COLUMNS, `invoice_date` (UTC) and `kind`, strings as objects."""

        def take(name: str) -> np.ndarray:
            values = self.columns[name]
            values = np.array(values) if positions is None else values[positions]
            if name in VOCABULARIES:
                return getattr(self, VOCABULARIES[name])[values].astype(object)
            return values

        out = pd.DataFrame({name: take(name) for name in HISTORY_COLUMNS}, index=positions)
        out["invoice_date"] = pd.to_datetime(take("seconds"), unit="s", utc=True)
        out["kind"] = take("kind")
        return out

    def past_for(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Return the training rows `history_features` needs to judge `rows`: every row of their
        customers, and the rows of their StockCodes from the PRICE_LAG_DAYS selling days before each
        code's first posted day on (an item's baseline reads no earlier day), less the rows of the
        invoices being scored (a posted copy of a stored invoice is judged as the stored one was,
        never against itself)."""
        invoices = set(rows["invoice_no"].astype(str))
        # Each excluded stored invoice may remove a selling day or two from a window: keep as many more.
        margin = PRICE_LAG_DAYS + 2 * self._stored_invoices(invoices)
        parts = []
        for customer in pd.unique(rows["customer_id"]):
            index = _find(self.customer_keys, int(customer))
            if index is not None:
                parts.append(self.customer_positions[self.customer_offsets[index] : self.customer_offsets[index + 1]])
        first_days = (
            pd.Series(_local_day(rows["invoice_date"].dt.tz_convert(LOCAL_TIME_ZONE)))
            .groupby(rows["stock_code"].astype(str).to_numpy())
            .min()
        )
        day = self.columns["day"]
        for code, first_day in first_days.items():
            index = _find(self.stock_keys, code)
            if index is None:
                continue
            positions = self.stock_positions[self.stock_offsets[index] : self.stock_offsets[index + 1]]
            days = self.selling_days[self.selling_offsets[index] : self.selling_offsets[index + 1]]
            earlier = int(np.searchsorted(days, first_day, "left"))
            if earlier > margin:
                positions = positions[day[positions] >= days[earlier - margin]]
            parts.append(positions)
        chosen = np.zeros(len(self), dtype=bool)  # np.unique's sorted positions, without its sort
        for part in parts:
            chosen[part] = True
        past = self.frame(np.flatnonzero(chosen))
        return past[~past["invoice_no"].isin(invoices)]

    def _stored_invoices(self, invoices: set[str]) -> int:
        """How many of `invoices` are training invoices."""
        if not invoices or not len(self.invoice_keys):
            return 0
        wanted = np.array(sorted(invoices))
        found = np.minimum(np.searchsorted(self.invoice_keys, wanted), len(self.invoice_keys) - 1)
        return int((self.invoice_keys[found] == wanted).sum())


def saved_columns(history: pd.DataFrame) -> dict[str, np.ndarray]:
    """SAVED_COLUMNS of a history frame: numbers as they are, strings as fixed-width unicode, the
    invoice date as epoch seconds."""
    columns = {name: _plain(history[name]) for name in HISTORY_COLUMNS}
    columns["kind"] = history["kind"].astype(str).to_numpy(str)
    columns["seconds"] = _epoch_seconds(history["invoice_date"])
    return columns


def _grouped(keys: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the `valid` rows grouped by key (sorted keys; ascending within a key) and each
    distinct key's offsets into them (one more than the distinct keys)."""
    positions = np.flatnonzero(valid)
    positions = positions[np.argsort(keys[positions], kind="stable")]
    starts = np.unique(keys[positions], return_index=True)[1]
    return positions, np.append(starts, len(positions)).astype(np.int64)


def _selling_days(codes: int, sold_codes: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per StockCode code (0 to `codes` - 1), the sorted distinct `days` of its sale lines (flat), and
    the offsets into them."""
    first = int(days.min()) if len(days) else 0
    pairs = np.unique((sold_codes.astype(np.int64) << 32) | (days.astype(np.int64) - first))
    offsets = np.searchsorted(pairs >> 32, np.arange(codes + 1), "left").astype(np.int64)
    return (pairs & 0xFFFFFFFF) + first, offsets


def _find(keys: np.ndarray, key: Any) -> int | None:
    """The position of `key` in the sorted `keys`, or None."""
    index = int(np.searchsorted(keys, key))
    return index if index < len(keys) and keys[index] == key else None


def _plain(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy()
    return values.astype(str).to_numpy(str)
