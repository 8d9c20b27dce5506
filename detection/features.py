"""The seed's whole-year features (pure pandas, no ORM, no I/O) and the shared transforms.

Training and scoring use the point-in-time features of `detection.history` instead; this module
keeps `signed_log1p` and `ZSCORE_CLIP` for them, and `build_features` (figures over the whole year,
the transaction itself included) as the earlier design that benchmarks and tests compare against.
Input frame columns: transaction_id, invoice_no, stock_code, quantity, unit_price, invoice_date
(timezone-aware), customer_id, country.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .fields import HIST_FREQ

# Customers with fewer lines than this use the global mean/std for QuantitySpike and ZScore.
MIN_CUSTOMER_LINES = 5
SPIKE_STDS = 3.0
ZSCORE_CLIP = 50.0  # keeps a handful of extreme z-scores from flattening the scaled feature

# The model's input columns, in order, and how analysts and the API name them.
MODEL_FEATURES = [
    "log_total_spent",
    "log_quantity",
    "log_unit_price",
    "transaction_hour",
    "transaction_day",
    "log_" + HIST_FREQ,
    "unusual_destination",
    "quantity_spike",
    "zscore",
    "price_deviation",
]
DISPLAY_NAMES = {
    "log_total_spent": "TotalSpent",
    "log_quantity": "Quantity",
    "log_unit_price": "UnitPrice",
    "transaction_hour": "TransactionHour",
    "transaction_day": "TransactionDay",
    "log_" + HIST_FREQ: "HistFreq",
    "unusual_destination": "UnusualDestination",
    "quantity_spike": "QuantitySpike",
    "zscore": "ZScore",
    "price_deviation": "PriceDeviation",
}
# The raw (untransformed) column each model feature is shown as.
DISPLAY_SOURCE = {
    "log_total_spent": "total_spent",
    "log_quantity": "quantity",
    "log_unit_price": "unit_price",
    "transaction_hour": "transaction_hour",
    "transaction_day": "transaction_day",
    "log_" + HIST_FREQ: HIST_FREQ,
    "unusual_destination": "unusual_destination",
    "quantity_spike": "quantity_spike",
    "zscore": "zscore",
    "price_deviation": "price_deviation",
}


@dataclass
class FeatureReference:
    """Statistics learnt from the training rows: per customer, per StockCode, and global."""

    customers: (
        pd.DataFrame
    )  # index customer_id: lines, invoices, qty_mean, qty_std, spent_mean, spent_std, usual_country
    stock_median_price: pd.Series  # index stock_code
    global_stats: dict[str, float]  # qty_mean, qty_std, spent_mean, spent_std

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Return plain arrays (no pickled objects) for np.savez."""
        customers = self.customers
        return {
            "customer_id": customers.index.to_numpy(np.int64),
            **{column: customers[column].to_numpy(np.float64) for column in _NUMERIC_CUSTOMER_COLUMNS},
            "usual_country": customers["usual_country"].to_numpy(str),
            "stock_code": self.stock_median_price.index.to_numpy(str),
            "stock_median_price": self.stock_median_price.to_numpy(np.float64),
            "global_keys": np.array(list(self.global_stats), dtype=str),
            "global_values": np.array(list(self.global_stats.values()), dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays) -> FeatureReference:
        customers = pd.DataFrame(
            {column: arrays[column] for column in _NUMERIC_CUSTOMER_COLUMNS},
            index=pd.Index(arrays["customer_id"], name="customer_id"),
        )
        customers["usual_country"] = arrays["usual_country"].astype(object)
        stock = pd.Series(arrays["stock_median_price"], index=pd.Index(arrays["stock_code"].astype(object)))
        global_stats = dict(zip(arrays["global_keys"].tolist(), arrays["global_values"].tolist(), strict=True))
        return cls(customers=customers, stock_median_price=stock, global_stats=global_stats)


_NUMERIC_CUSTOMER_COLUMNS = ["lines", "invoices", "qty_mean", "qty_std", "spent_mean", "spent_std"]


def signed_log1p(values: pd.Series | np.ndarray) -> np.ndarray:
    """Return sign(x) * log(1 + |x|): tames heavy tails and keeps the sign of cancellations."""
    values = np.asarray(values, dtype=np.float64)
    return np.sign(values) * np.log1p(np.abs(values))


def build_reference(frame: pd.DataFrame) -> FeatureReference:
    """Return the per-customer, per-StockCode and global statistics of `frame`."""
    spent = frame["quantity"] * frame["unit_price"]
    by_customer = frame.assign(total_spent=spent).groupby("customer_id", sort=True)
    customers = pd.DataFrame(
        {
            "lines": by_customer.size(),
            "invoices": by_customer["invoice_no"].nunique(),
            "qty_mean": by_customer["quantity"].mean(),
            "qty_std": by_customer["quantity"].std(),
            "spent_mean": by_customer["total_spent"].mean(),
            "spent_std": by_customer["total_spent"].std(),
        }
    )
    invoices_per_country = frame.groupby(["customer_id", "country"])["invoice_no"].nunique().rename("n").reset_index()
    usual = (
        invoices_per_country.sort_values(["customer_id", "n", "country"], ascending=[True, False, True])
        .drop_duplicates("customer_id")
        .set_index("customer_id")["country"]
    )
    customers["usual_country"] = usual.astype(object)
    sold = frame[frame["quantity"] > 0]
    stock_median_price = sold.groupby("stock_code")["unit_price"].median()
    global_stats = {
        "qty_mean": float(frame["quantity"].mean()),
        "qty_std": float(frame["quantity"].std()),
        "spent_mean": float(spent.mean()),
        "spent_std": float(spent.std()),
    }
    return FeatureReference(customers=customers, stock_median_price=stock_median_price, global_stats=global_stats)


def build_features(frame: pd.DataFrame, reference: FeatureReference) -> pd.DataFrame:
    """Return one row of features per row of `frame` (same index), using `reference` for history.

    - total_spent = quantity * unit_price; transaction_hour, transaction_day (0 = Monday).
    - hist_freq: the customer's distinct invoices (in the reference; for an unknown customer, in `frame`).
    - unusual_destination: the line's country is not the customer's usual country (most invoices).
    - quantity_spike: |quantity - customer mean| > 3 customer std (global figures below 5 lines).
    - zscore: (total_spent - customer mean) / customer std (same fallback), clipped to +-50.
    - price_deviation: log1p(unit_price) - log1p(StockCode median price); 0 for unknown codes.
    """
    quantity = frame["quantity"].astype(np.float64)
    unit_price = frame["unit_price"].astype(np.float64)
    total_spent = quantity * unit_price
    local_time = frame["invoice_date"].dt.tz_convert("Europe/London")

    profile = reference.customers.reindex(frame["customer_id"].to_numpy())
    profile.index = frame.index
    known = profile["lines"].notna()
    enough = known & (profile["lines"] >= MIN_CUSTOMER_LINES)
    g = reference.global_stats

    invoices_in_frame = frame.groupby("customer_id")["invoice_no"].transform("nunique")
    hist_freq = profile["invoices"].where(known, invoices_in_frame).astype(np.int64)
    usual_country = profile["usual_country"].where(known, frame["country"])
    unusual_destination = frame["country"].to_numpy() != usual_country.to_numpy()

    qty_mean = profile["qty_mean"].where(enough, g["qty_mean"])
    qty_std = profile["qty_std"].where(enough & (profile["qty_std"] > 0), g["qty_std"])
    quantity_spike = (quantity - qty_mean).abs() > SPIKE_STDS * qty_std

    spent_mean = profile["spent_mean"].where(enough, g["spent_mean"])
    spent_std = profile["spent_std"].where(enough & (profile["spent_std"] > 0), g["spent_std"])
    zscore = ((total_spent - spent_mean) / spent_std.replace(0, np.nan)).fillna(0.0).clip(-ZSCORE_CLIP, ZSCORE_CLIP)

    median_price = frame["stock_code"].map(reference.stock_median_price).astype(np.float64)
    price_deviation = np.log1p(unit_price.clip(lower=0)) - np.log1p(median_price.fillna(unit_price).clip(lower=0))

    return pd.DataFrame(
        {
            "quantity": quantity,
            "unit_price": unit_price,
            "total_spent": total_spent,
            "transaction_hour": local_time.dt.hour.astype(np.int64),
            "transaction_day": local_time.dt.day_of_week.astype(np.int64),
            HIST_FREQ: hist_freq,
            "unusual_destination": unusual_destination,
            "quantity_spike": quantity_spike.to_numpy(),
            "zscore": zscore,
            "price_deviation": price_deviation,
        },
        index=frame.index,
    )


def model_matrix(features: pd.DataFrame) -> np.ndarray:
    """Return the model input (rows x MODEL_FEATURES) from `build_features` output, as float32."""
    columns = {
        "log_total_spent": signed_log1p(features["total_spent"]),
        "log_quantity": signed_log1p(features["quantity"]),
        "log_unit_price": np.log1p(features["unit_price"].clip(lower=0).to_numpy()),
        "transaction_hour": features["transaction_hour"].to_numpy(np.float64),
        "transaction_day": features["transaction_day"].to_numpy(np.float64),
        "log_" + HIST_FREQ: np.log1p(features[HIST_FREQ].to_numpy(np.float64)),
        "unusual_destination": features["unusual_destination"].to_numpy(np.float64),
        "quantity_spike": features["quantity_spike"].to_numpy(np.float64),
        "zscore": features["zscore"].to_numpy(np.float64),
        "price_deviation": features["price_deviation"].to_numpy(np.float64),
    }
    return np.column_stack([columns[name] for name in MODEL_FEATURES]).astype(np.float32)
