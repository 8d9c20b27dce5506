"""Turning transactions into score rows with a fitted bundle: shared by training, scoring of new rows
and the scoring API, so all three compute the same point-in-time features. Pure pandas/numpy; no ORM.

What each line kind gets (detection.kinds):
- sales are ranked by the fused score (fusion.FusedDetector): anomaly_score = 1 - the smallest
  calibrated tail probability of the tail detector and the Isolation Forest; is_flagged = the top
  2 % of training sale lines; the forest and the autoencoder each flag their own top 2 %;
- cancellations and non-product lines stay out of the purchase ranking (anomaly_score 0, no model
  flag) and are flagged only by the rules in `kinds.rule_reasons`; a cancellation carries the sale it
  undoes (`original_transaction_id`), so a cancelled anomalous order stays one alert.
RiskScore keeps the seed's rule exactly on every line. A version trained with analysts' verdicts
blends its supervised layer into the fused score (supervised.py) and applies the verdicts' feedback
effects to sale lines, each stated first in the line's reasons (feedback.py).
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd

from .bundle import ScoringBundle
from .estimators import ModelScores, explanations
from .features import ZSCORE_CLIP
from .feedback import apply_feedback, feedback_reason
from .fields import HIST_FREQ
from .fusion import FusedDetector, history_matrix
from .history import history_features
from .kinds import CANCELLATION, SALE, line_kinds, link_cancellations, rule_reasons
from .reasons import reasons

# Model input -> (how analysts and the API name it in explanations, the column its value is shown from).
DISPLAY = {
    "log_quantity": ("Quantity", "quantity"),
    "log_unit_price": ("UnitPrice", "unit_price"),
    "log_total_spent": ("TotalSpent", "total_spent"),
    "price_ratio": ("PriceDeviation", "price_ratio"),
    "quantity_beyond_habit": ("QuantityBeyondHabit", "quantity_beyond_habit"),
    "quantity_vs_item": ("QuantityVsItem", "quantity_vs_item"),  # versions saved before quantity_beyond_habit
    "quantity_z": ("QuantityZ", "quantity_z"),
    "quantity_index_z": ("QuantityIndexZ", "quantity_index_z"),
    "zscore": ("ZScore", "zscore"),
    "log_" + HIST_FREQ: ("HistFreq", HIST_FREQ),
    "unusual_destination": ("UnusualDestination", "unusual_destination"),
    "log_invoices_last_hour": ("InvoicesLastHour", "invoices_last_hour"),
    "burst_surprise": ("BurstSurprise", "burst_surprise"),
    "log_days_since_previous": ("DaysSincePrevious", "days_since_previous"),
    "hour_rarity": ("HourRarity", "hour_rarity"),
    "new_stock_code": ("NewStockCode", "new_stock_code"),
}


def score_frame(frame: pd.DataFrame, bundle: ScoringBundle, past: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one score row per transaction of `frame` (transactions_frame columns), judged against
    `past` (earlier stored rows, same columns) and against the other rows of `frame`."""
    rows = frame.assign(kind=line_kinds(frame))
    if past is not None and "kind" not in past:
        past = past.assign(kind=line_kinds(past))
    features = history_features(rows, past=past, priors=bundle.priors)
    return score_features(rows, features, bundle.fused, past=past)


def score_posted(frame: pd.DataFrame, bundle: ScoringBundle) -> pd.DataFrame:
    """Return the score rows of posted rows (not stored) judged against the training rows: from the
    bundle's HistoryState when it can answer for them (the same figures, tested), else through
    `history_features` over the training rows of their customers and StockCodes."""
    rows = frame.assign(kind=line_kinds(frame))
    features = bundle.state.features(rows, bundle.priors) if bundle.state is not None else None
    if features is not None:
        return score_features(rows, features, bundle.fused)
    past = bundle.past_for(frame)
    features = history_features(rows, past=earlier_invoices(past, frame), priors=bundle.priors)
    return score_features(rows, features, bundle.fused, past=past)


def earlier_invoices(past: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The invoices of `past` that start before the latest line of `rows`: every figure of
    `history_features` is strictly earlier than a line's invoice (an item's days, strictly earlier
    days), so the later invoices change none of them. Whole invoices, as their amounts are sums."""
    latest = rows["invoice_date"].max()
    if (past["invoice_date"] < latest).all():  # rows dated after every stored line: all of it
        return past
    starts = past.groupby("invoice_no", sort=False)["invoice_date"].transform("min")
    return past[(starts < latest).to_numpy()]


# Rows scored at a time: a multiple of the forest's walk blocks (2,048) and of the autoencoder's
# batches (8,192), so every row goes through the same blocks as in one call (the same scores), and
# the model matrix, reconstructions and tail surprises of a large frame never exist whole.
SCORE_CHUNK_ROWS = 131_072


def score_in_chunks(fused: FusedDetector, features: pd.DataFrame) -> tuple[ModelScores, pd.DataFrame]:
    """`fused.score_with_models(features)`, SCORE_CHUNK_ROWS rows at a time into arrays of every row."""
    if len(features) <= SCORE_CHUNK_ROWS:
        return fused.score_with_models(features)
    scores: dict[str, np.ndarray] = {}
    columns: dict[str, np.ndarray] = {}
    for start in range(0, len(features), SCORE_CHUNK_ROWS):
        part_scores, part = fused.score_with_models(features.iloc[start : start + SCORE_CHUNK_ROWS])
        rows = slice(start, start + len(part))
        for item in fields(ModelScores):
            values = getattr(part_scores, item.name)
            scores.setdefault(item.name, np.empty((len(features), *values.shape[1:]), values.dtype))[rows] = values
        for name in part.columns:
            values = part[name].to_numpy()
            columns.setdefault(name, np.empty(len(features), values.dtype))[rows] = values
    return ModelScores(**scores), pd.DataFrame(columns, index=features.index, copy=False)


def score_features(
    frame: pd.DataFrame,
    features: pd.DataFrame,
    fused: FusedDetector,
    *,
    past: pd.DataFrame | None = None,
    unsupervised: tuple | None = None,
) -> pd.DataFrame:
    """Return the score rows of `frame` from its `history_features` (same index).

    `unsupervised`: `score_with_models` of the same rows by `fused` without its supervised layer,
    when the caller has it already (a training run with verdicts); the layer is then blended in.
    """
    if unsupervised is None:
        model_scores, scored = score_in_chunks(fused, features)
    else:
        model_scores, scored = unsupervised
        if fused.supervised is not None:
            scored = fused.blended(scored, history_matrix(features, fused.model_features))
    sale = (features["kind"] == SALE).to_numpy()
    effects = None
    if fused.feedback is not None:
        scored, effects = apply_feedback(scored, frame, fused.feedback, threshold=fused.fused_threshold, sale=sale)
    out = pd.DataFrame(
        {
            "transaction_id": frame["transaction_id"].to_numpy(),
            "customer_id": frame["customer_id"].to_numpy(),
            "country": frame["country"].to_numpy(),
        },
        index=frame.index,
    )
    out.insert(2, "invoice_date", frame["invoice_date"])
    out["total_spent"] = features["total_spent"].to_numpy()
    out[HIST_FREQ] = features[HIST_FREQ].to_numpy(np.int64)
    out["unusual_destination"] = features["unusual_destination"].to_numpy(bool)
    out["quantity_spike"] = features["quantity_spike"].to_numpy(bool)
    out["zscore"] = np.clip(np.nan_to_num(features["zscore"].to_numpy(np.float64)), -ZSCORE_CLIP, ZSCORE_CLIP)
    out["price_deviation"] = features["price_ratio"].to_numpy(np.float64)
    out["transaction_hour"] = features["transaction_hour"].to_numpy(np.int64)
    out["transaction_day"] = features["transaction_day"].to_numpy(np.int64)
    out["iso_forest_score"] = scored["iso_forest_score"].to_numpy()
    out["iso_forest_flag"] = scored["iso_forest_flag"].to_numpy() & sale
    out["autoencoder_mse"] = scored["autoencoder_mse"].to_numpy()
    out["autoencoder_score"] = scored["autoencoder_score"].to_numpy()
    out["autoencoder_flag"] = scored["autoencoder_flag"].to_numpy() & sale
    out["risk_score"] = scored["risk_score"].to_numpy()
    out["anomaly_score"] = np.where(sale, scored["anomaly_score"].to_numpy(), 0.0)

    kinds = features["kind"]
    original = _originals(frame, kinds, past)
    rules = rule_reasons(frame, kinds, original.notna().to_numpy())
    model_flag = scored["is_flagged"].to_numpy() & sale
    rule_flag = np.array([bool(items) for items in rules], dtype=bool)
    out["is_flagged"] = model_flag | rule_flag
    out["is_common_anomaly"] = out["iso_forest_flag"].to_numpy() & out["autoencoder_flag"].to_numpy()

    flagged = np.flatnonzero(out["is_flagged"].to_numpy())
    # The shown values of the flagged rows only (a few percent): not a float copy of every row's.
    shown = features.iloc[flagged][[DISPLAY[name][1] for name in fused.model_features]]
    lists = explanations(
        model_scores.error_share[flagged],
        shown.astype(np.float64).fillna(0.0),
        [DISPLAY[name][0] for name in fused.model_features],
        np.arange(len(flagged)),
    )
    explained = pd.Series(None, index=out.index, dtype=object)
    if lists:
        explained.iloc[flagged] = pd.Series(lists, dtype=object).to_numpy()
    out["explanation"] = explained
    out["kind"] = kinds.astype(str).to_numpy()
    out["original_transaction_id"] = original.to_numpy()

    # Every line starts with its own rules' list (a fresh [] for most): no second empty list per line.
    why = pd.Series(rules, index=out.index, dtype=object)
    model_rows = np.flatnonzero(model_flag)
    for position, items in zip(model_rows, reasons(features, scored, model_rows), strict=True):
        why.iat[position] = items
    if effects is not None:
        for position in np.flatnonzero(effects["effect"].to_numpy()):  # rows near a verdict: thousands at most
            effect = effects.iloc[position]
            item = feedback_reason(
                effect["effect"],
                effect["verdict_seconds"],
                effect["closed_seconds"],
                effect["review_id"],
                effect["evidence"],
            )
            why.iat[position] = [item, *why.iat[position]]
    out["flag_reasons"] = why
    return out


def _originals(frame: pd.DataFrame, kinds: pd.Series, past: pd.DataFrame | None) -> pd.Series:
    """The transaction id of the sale each cancellation of `frame` undoes (NaN-free Int64; <NA> elsewhere)."""
    result = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if not (kinds == CANCELLATION).any():
        return result
    columns = ["transaction_id", "invoice_no", "stock_code", "quantity", "invoice_date", "customer_id"]
    both = frame[columns] if past is None else pd.concat([past[columns], frame[columns]], ignore_index=True)
    links = link_cancellations(both)
    links = links[links["matched"]]
    ids = both["transaction_id"].to_numpy()
    offset = 0 if past is None else len(past)
    positions = both.index.get_indexer(links.index) - offset
    keep = positions >= 0
    original_ids = ids[both.index.get_indexer(links["original_index"].to_numpy())][keep]
    positions = positions[keep]
    valid = original_ids > 0  # a posted row not stored yet has no id to point to
    result.iloc[positions[valid]] = original_ids[valid]
    return result
