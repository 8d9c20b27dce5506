"""Measuring detection quality: plant known anomalies and see what the models find; once analysts
have closed reviews, compare each model's flags with their labels.

`plant_anomalies` is pure pandas; `evaluate_detector` scores the planted and untouched rows with a
detector and returns ROC-AUC, precision@k and recall per model and for the combination;
`precision_against_reviews` turns reviewed rows into precision and recall per model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .estimators import Detector
from .features import FeatureReference
from .scoring import score_frame

PLANT_KINDS = ("scaled_quantity", "extreme_price", "odd_hour", "new_country")


def plant_anomalies(frame: pd.DataFrame, *, count: int, seed: int = 0) -> pd.DataFrame:
    """Return `count` copies of random rows of `frame`, each altered in one way, with a `kind` column.

    scaled_quantity: quantity x 20..100; extreme_price: unit price x 20..100; odd_hour: moved to
    01:00-04:59 the same day; new_country: a country the customer has never bought from.
    """
    rng = np.random.default_rng(seed)
    planted = frame.sample(n=count, replace=len(frame) < count, random_state=seed).copy()
    kinds = np.array(PLANT_KINDS)[np.arange(count) % len(PLANT_KINDS)]
    planted["kind"] = kinds

    scale = rng.uniform(20, 100, size=count)
    quantity = planted["kind"] == "scaled_quantity"
    planted.loc[quantity, "quantity"] = (
        (planted.loc[quantity, "quantity"].abs().clip(lower=1) * scale[quantity.to_numpy()]).round().astype(np.int64)
    )
    price = planted["kind"] == "extreme_price"
    planted.loc[price, "unit_price"] = (
        planted.loc[price, "unit_price"].abs().clip(lower=0.5) * scale[price.to_numpy()]
    ).round(2)
    hour = planted["kind"] == "odd_hour"
    local = planted.loc[hour, "invoice_date"].dt.tz_convert("Europe/London")
    new_local = local.dt.normalize() + pd.to_timedelta(rng.integers(60, 300, size=int(hour.sum())), unit="min")
    planted.loc[hour, "invoice_date"] = new_local.dt.tz_convert("UTC")
    country = planted["kind"] == "new_country"
    countries = np.array(sorted(frame["country"].unique()))
    seen = frame.groupby("customer_id")["country"].agg(set)
    choices = rng.integers(0, len(countries), size=int(country.sum()))
    new_countries = []
    for customer, start in zip(planted.loc[country, "customer_id"], choices, strict=True):
        candidates = [c for c in np.roll(countries, -start) if c not in seen.get(customer, set())]
        new_countries.append(candidates[0] if candidates else "Nowhere")
    planted.loc[country, "country"] = new_countries
    planted["transaction_id"] = -np.arange(1, count + 1)
    return planted


def evaluate_detector(
    frame: pd.DataFrame, detector: Detector, reference: FeatureReference, *, count: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Return one row per model (iso_forest, autoencoder, combined): roc_auc, precision_at_k, recall.

    Untouched rows (a sample of `frame`, label 0) and planted rows (label 1) are scored together;
    k is the number planted; recall is the share of planted rows the model flags.
    """
    normal = frame.sample(n=min(len(frame), 20 * count), random_state=seed).assign(kind="none")
    planted = plant_anomalies(frame, count=count, seed=seed)
    both = pd.concat([normal, planted], ignore_index=True)
    labels = (both["kind"] != "none").to_numpy()
    scores = score_frame(both.drop(columns="kind"), reference, detector)
    columns = {
        "iso_forest": ("iso_forest_score", "iso_forest_flag"),
        "autoencoder": ("autoencoder_score", "autoencoder_flag"),
        "combined": ("anomaly_score", "is_flagged"),
    }
    rows = []
    for model, (score_column, flag_column) in columns.items():
        score = scores[score_column].to_numpy()
        top = np.argsort(-score, kind="stable")[:count]
        rows.append(
            {
                "model": model,
                "roc_auc": roc_auc_score(labels, score),
                "precision_at_k": labels[top].mean(),
                "recall": scores[flag_column].to_numpy()[labels].mean(),
                **{
                    f"recall_{kind}": scores[flag_column].to_numpy()[(both["kind"] == kind).to_numpy()].mean()
                    for kind in PLANT_KINDS
                },
            }
        )
    return pd.DataFrame(rows).set_index("model")


# model -> the flag column that says the model called the row an anomaly
REVIEWED_MODELS = {
    "iso_forest": "iso_forest_flag",
    "autoencoder": "autoencoder_flag",
    "combined": "is_flagged",
    "both": "is_common_anomaly",
}


def precision_against_reviews(reviewed: pd.DataFrame) -> pd.DataFrame:
    """One row per model (iso_forest, autoencoder, combined = either, both): precision against analysts.

    `reviewed` has one row per closed review: a boolean `confirmed` (fraud) and the flag columns.
    Columns: flagged (reviewed rows the model flagged), confirmed (confirmed fraud among them),
    precision (confirmed / flagged; NaN when it flagged none), recall (share of all confirmed
    fraud that the model flagged; NaN when none is confirmed).
    """
    confirmed = reviewed["confirmed"].to_numpy(dtype=bool)
    rows = []
    for model, column in REVIEWED_MODELS.items():
        flagged = reviewed[column].to_numpy(dtype=bool)
        hits = int((flagged & confirmed).sum())
        rows.append(
            {
                "model": model,
                "flagged": int(flagged.sum()),
                "confirmed": hits,
                "precision": hits / flagged.sum() if flagged.any() else np.nan,
                "recall": hits / confirmed.sum() if confirmed.any() else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("model")
