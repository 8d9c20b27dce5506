"""Measuring detection quality: plant known anomalies and see what the models find; once analysts
have closed reviews, compare each model's flags with their labels.

`plant_varied` plants invoices of seven kinds among real rows (pure pandas), `planted_features`
judges them against the real history and `top_share_report` ranks them (detection.quality puts
them together); `precision_against_reviews` turns reviewed rows into precision and recall per model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fields import HIST_FREQ

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


# --- Varied plants against point-in-time history features ---------------------------------------

VARIED_KINDS = ("huge_quantity", "price_high", "price_low", "new_country", "burst", "off_hours", "combination")
OFFICE_HOURS = (8, 17)  # a customer "always buys in office hours": every sale invoice from 08:00 to 17:59
ODD_HOURS = np.array([0, 1, 2, 3, 4, 5, 21, 22, 23])
MAX_COPIED_LINES = 3


def _copy_invoices(rows: pd.DataFrame, invoices: np.ndarray, rng: np.random.Generator, tag: str) -> pd.DataFrame:
    """Return up to MAX_COPIED_LINES sale lines of each source invoice, as a new invoice at the same time."""
    lines = rows[rows["invoice_no"].isin(invoices)]
    lines = lines.assign(_r=rng.random(len(lines))).sort_values(["invoice_no", "_r"])
    lines = lines.groupby("invoice_no", sort=False).head(MAX_COPIED_LINES).drop(columns="_r").copy()
    number = {invoice: f"{tag}{n}" for n, invoice in enumerate(invoices)}
    lines["source_invoice"] = lines["invoice_no"]
    lines["invoice_no"] = lines["invoice_no"].map(number)
    return lines


def _new_countries(rows: pd.DataFrame, customers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    countries = np.array(sorted(rows["country"].unique()))
    seen = rows.groupby("customer_id")["country"].agg(set)
    picked = []
    for customer in customers:  # one Python step per planted invoice (hundreds), not per row
        candidates = [c for c in countries if c not in seen.get(customer, set())]
        picked.append(candidates[rng.integers(len(candidates))] if candidates else "Nowhere")
    return np.array(picked, dtype=object)


def _at_odd_hours(dates: pd.Series, rng: np.random.Generator, by_invoice: pd.Series) -> pd.Series:
    """Move each invoice to a random odd hour (00-05, 21-23 UK time) of the same day."""
    invoices = by_invoice.unique()
    minutes = pd.Series(rng.choice(ODD_HOURS, len(invoices)) * 60 + rng.integers(0, 60, len(invoices)), index=invoices)
    local = dates.dt.tz_convert("Europe/London").dt.tz_localize(None).dt.normalize()
    moved = local + pd.to_timedelta(by_invoice.map(minutes).to_numpy(), unit="min")
    return moved.dt.tz_localize("Europe/London", ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")


def plant_varied(rows: pd.DataFrame, features: pd.DataFrame, *, seed: int = 0, invoices_per_kind: int = 150):
    """Return new invoices planted among `rows` (sale lines only), with `plant_kind` and `label` columns.

    Each plant is a copy of up to three lines of a real sale invoice, at the same time (so its
    history is the source's), altered one way; ranges are drawn per seed so no single design is
    tuned for. Kinds: huge_quantity (x a..b, a in 15-30, b = a x 3-5); price_high / price_low (x or
    / a..b, a in 4-10); new_country (an ordinary order from a country new to a customer with at
    least two earlier invoices); burst (3-8 copies within the hour after the source; the first copy
    is labelled 0 and left out, since one extra invoice is not yet a burst); off_hours (a customer
    whose every invoice is in office hours, moved to 00-05 or 21-23); combination (milder pairs:
    quantity x3-6 + new country, price x2.5-4 + odd hour, a burst from a new country).
    `features` are `history_features(rows)`, used to pick eligible sources.
    """
    rng = np.random.default_rng(seed)
    sale = (features["kind"] == "sale").to_numpy()
    sales = rows[sale]
    invoice_history = features.loc[sale].groupby(sales["invoice_no"].to_numpy())[HIST_FREQ].first()
    hours = features.loc[sale, "transaction_hour"]
    office = hours.between(*OFFICE_HOURS).groupby(sales["customer_id"].to_numpy()).all()
    office_customers = office[office].index
    invoice_customer = sales.groupby("invoice_no")["customer_id"].first()

    def pick(eligible: pd.Index, count: int) -> np.ndarray:
        return rng.choice(np.asarray(eligible), size=min(count, len(eligible)), replace=False)

    def factor(low: tuple[float, float], spread: tuple[float, float], size: int) -> np.ndarray:
        a = rng.uniform(*low)
        return rng.uniform(a, a * rng.uniform(*spread), size=size)

    every = invoice_history.index
    with_history = invoice_history.index[invoice_history >= 2]
    office_invoices = invoice_history.index[
        (invoice_history >= 5) & invoice_customer.reindex(invoice_history.index).isin(office_customers).to_numpy()
    ]
    planted = []

    def per_invoice(lines: pd.DataFrame, values: np.ndarray) -> np.ndarray:
        codes, _ = pd.factorize(lines["invoice_no"])
        return values[codes]

    quantity = _copy_invoices(sales, pick(every, invoices_per_kind), rng, f"PQ{seed}-")
    quantity["quantity"] = np.ceil(
        quantity["quantity"] * per_invoice(quantity, factor((15, 30), (3, 5), invoices_per_kind))
    ).astype(np.int64)
    planted.append(quantity.assign(plant_kind="huge_quantity"))

    for kind, sign in (("price_high", 1.0), ("price_low", -1.0)):
        priced = _copy_invoices(sales, pick(every, invoices_per_kind), rng, f"P{kind[6]}{seed}-")
        scale = per_invoice(priced, factor((4, 10), (3, 6), invoices_per_kind)) ** sign
        priced["unit_price"] = (priced["unit_price"] * scale).round(3).clip(lower=0.001)
        planted.append(priced.assign(plant_kind=kind))

    sources = pick(with_history, invoices_per_kind)
    moved = _copy_invoices(sales, sources, rng, f"PC{seed}-")
    moved_customers = moved.drop_duplicates("invoice_no")["customer_id"].to_numpy()  # per_invoice's order
    moved["country"] = per_invoice(moved, _new_countries(rows, moved_customers, rng))
    planted.append(moved.assign(plant_kind="new_country"))

    bursts = _bursts(sales, pick(every, max(1, invoices_per_kind // 4)), rng, f"PB{seed}-")
    planted.append(bursts.assign(plant_kind="burst"))

    late = _copy_invoices(sales, pick(office_invoices, invoices_per_kind), rng, f"PH{seed}-")
    late["invoice_date"] = _at_odd_hours(late["invoice_date"], rng, late["invoice_no"])
    planted.append(late.assign(plant_kind="off_hours"))

    third = max(1, invoices_per_kind // 3)
    mild = _copy_invoices(sales, pick(with_history, third), rng, f"PX{seed}-")
    mild["quantity"] = np.ceil(mild["quantity"] * per_invoice(mild, rng.uniform(3, 6, third))).astype(np.int64)
    mild_customers = mild.groupby("invoice_no", sort=False)["customer_id"].first().to_numpy()
    mild["country"] = per_invoice(mild, _new_countries(rows, mild_customers, rng))
    odd = _copy_invoices(sales, pick(office_invoices, third), rng, f"PY{seed}-")
    odd["unit_price"] = (odd["unit_price"] * per_invoice(odd, rng.uniform(2.5, 4, third))).round(3)
    odd["invoice_date"] = _at_odd_hours(odd["invoice_date"], rng, odd["invoice_no"])
    abroad = _bursts(sales, pick(with_history, max(1, third // 4)), rng, f"PZ{seed}-")
    abroad_customers = abroad.groupby("invoice_no", sort=False)["customer_id"].first().to_numpy()
    abroad["country"] = per_invoice(abroad, _new_countries(rows, abroad_customers, rng))
    planted.append(pd.concat([mild, odd, abroad]).assign(plant_kind="combination"))

    out = pd.concat(planted, ignore_index=True)
    out = out[out["invoice_date"].notna()]
    out["label"] = out.pop("_label") if "_label" in out else 1
    out["label"] = out["label"].fillna(1).astype(np.int64)
    out["in_burst"] = out["in_burst"].astype("boolean").fillna(False).astype(bool) if "in_burst" in out else False
    out["transaction_id"] = -np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def _bursts(sales: pd.DataFrame, sources: np.ndarray, rng: np.random.Generator, tag: str) -> pd.DataFrame:
    """Return 3-8 copies of each source invoice within the hour after it; the first copy has _label 0."""
    copies = []
    for n, source in enumerate(sources):  # one step per burst (tens), each vectorised over its copies
        size = int(rng.integers(3, 9))
        offsets = np.sort(rng.choice(np.arange(1, 60), size=size, replace=False))
        for m, minutes in enumerate(offsets):
            lines = _copy_invoices(sales, np.array([source]), rng, f"{tag}{n}-{m}-")
            lines["invoice_date"] = lines["invoice_date"] + pd.Timedelta(minutes=int(minutes))
            lines["_label"] = 0 if m == 0 else 1
            lines["in_burst"] = True
            copies.append(lines)
    return pd.concat(copies)


def top_share_report(
    normal_scores: np.ndarray, planted_scores: np.ndarray, kinds: np.ndarray, *, share: float = 0.02
) -> dict[str, float]:
    """Return ROC-AUC (planted vs normal), the share of planted rows above the normal rows' top-`share`
    threshold, and that share per kind (`top_<kind>`)."""
    from sklearn.metrics import roc_auc_score  # here: serving processes import this module, never call it

    threshold = np.quantile(normal_scores, 1.0 - share)
    labels = np.r_[np.zeros(len(normal_scores)), np.ones(len(planted_scores))]
    above = planted_scores > threshold
    report = {
        "roc_auc": float(roc_auc_score(labels, np.r_[normal_scores, planted_scores])),
        "top_share": float(above.mean()),
    }
    for kind in VARIED_KINDS:
        mask = kinds == kind
        report[f"top_{kind}"] = float(above[mask].mean()) if mask.any() else float("nan")
    return report


def planted_features(planted: pd.DataFrame, rows: pd.DataFrame, *, priors) -> pd.DataFrame:
    """Return `history_features` of the planted rows against the real `rows` (same index as `planted`).

    Each plant is judged against the real history alone, as if it were the only new invoice, except
    the copies of one burst, which must see one another.
    """
    from .history import history_features

    parts = []
    burst = planted["in_burst"].to_numpy(bool)
    if burst.any():
        parts.append(history_features(planted[burst], past=rows, priors=priors))
    if (~burst).any():
        parts.append(history_features(planted[~burst], past=rows, priors=priors, rows_are_history=False))
    return pd.concat(parts).loc[planted.index]
