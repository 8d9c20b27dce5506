"""What analysts' verdicts do to the ranking of other rows: dismissals lower near-identical later rows,
confirmed frauds raise the customer's other recent rows into review. Pure pandas/numpy; no ORM.

How near is near (the windows are in the rows' own invoice time, so an effect expires by itself):
- a false positive lowers the sale lines of the same customer with the same kind of evidence (the
  reason key of their strongest tail-detector surprise, `evidence_keys`) no stronger than the
  dismissed line's plus NEAR_SURPRISE (at most e times rarer: a far more extreme line is not the
  one dismissed), dated from the dismissed line's invoice to DISMISS_DAYS after it, the dismissed
  line included: their fused surprise is
  capped at the flag threshold and halved (DISMISS_FACTOR), which takes them out of the queue and
  keeps their order among themselves. A line DISMISS_DAYS and a second later is ranked as before;
- a confirmed fraud raises the customer's other sale lines dated within FRAUD_DAYS before or after
  the confirmed line that are already in the top RAISE_SHARE of training lines (`raise_floor`): their
  fused surprise is lifted just above the flag threshold when it was below, so they are flagged for
  review. The floor keeps a wholesale customer's hundred ordinary lines of a fortnight out of the
  queue (without it, 60 confirmed lines on the real file raised 7,828 lines). When both apply, the
  fraud wins, except on a line that was itself dismissed: its own verdict wins.
Each affected line carries a `feedback` reason ("similar to a row dismissed on 3 Dec 2011").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .reasons import REASON_SURPRISE, REASONS

DISMISS_DAYS = 30
DISMISS_FACTOR = 0.5
FRAUD_DAYS = 14
RAISE_SHARE = 0.10  # a confirmed fraud raises the customer's nearby lines in the top 10 % of training lines
NEAR_SURPRISE = 1.0  # -log tail probability: a row at most e (2.7) times rarer than the dismissed one
DAY_SECONDS = 86_400
NO_EVIDENCE = "isolation_forest"  # no tail surprise above REASON_SURPRISE: the forest's combination

# Labels: 1 confirmed fraud, 0 false positive.
CONFIRMED, DISMISSED = 1, 0


def evidence_keys(scored: pd.DataFrame) -> np.ndarray:
    """Return each row's kind of evidence: the reason key (reasons.REASONS) of its strongest tail
    surprise, or NO_EVIDENCE when none reaches REASON_SURPRISE. `scored`: FusedDetector.score."""
    columns = [column for column in scored.columns if column.startswith("surprise_")]
    keys = np.array([REASONS[column.removeprefix("surprise_")][0] for column in columns], dtype=object)
    surprise = scored[columns].to_numpy(np.float64)
    strongest = surprise.argmax(axis=1)
    return np.where(surprise.max(axis=1) >= REASON_SURPRISE, keys[strongest], NO_EVIDENCE)


def evidence_strength(scored: pd.DataFrame) -> np.ndarray:
    """Return each row's strongest tail surprise (the strength of its `evidence_keys` evidence)."""
    return (
        scored[[column for column in scored.columns if column.startswith("surprise_")]].to_numpy(np.float64).max(axis=1)
    )


def seconds(dates: pd.Series) -> np.ndarray:
    """Seconds since 1970 (UTC) of tz-aware dates."""
    return ((dates.dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)


@dataclass(frozen=True)
class Feedback:
    """The verdicts of a version: one row per labelled sale line (transaction_id, customer_id,
    evidence, strength = its strongest surprise, seconds = its invoice time, label, review_id,
    closed_seconds = when the verdict was given)."""

    verdicts: pd.DataFrame
    raise_floor: float = -np.inf  # the fused surprise a line needs to be raised by a confirmed fraud

    def to_arrays(self) -> dict[str, np.ndarray]:
        frame = self.verdicts
        arrays = {"raise_floor": np.array(self.raise_floor)}
        arrays |= {column: frame[column].to_numpy(np.int64) for column in FEEDBACK_INT_COLUMNS}
        arrays["evidence"] = frame["evidence"].astype(str).to_numpy(str)
        arrays["strength"] = frame["strength"].to_numpy(np.float64)
        return arrays

    @classmethod
    def from_arrays(cls, stored) -> Feedback:
        frame = pd.DataFrame({column: stored[column].astype(np.int64) for column in FEEDBACK_INT_COLUMNS})
        frame["evidence"] = stored["evidence"].astype(object)
        frame["strength"] = stored["strength"].astype(np.float64)
        return cls(frame[FEEDBACK_COLUMNS], raise_floor=float(stored["raise_floor"]))


FEEDBACK_INT_COLUMNS = ["transaction_id", "customer_id", "seconds", "label", "review_id", "closed_seconds"]
FEEDBACK_COLUMNS = [*FEEDBACK_INT_COLUMNS, "evidence", "strength"]


def build_feedback(
    labels: pd.DataFrame,
    transaction_ids: np.ndarray,
    customer_ids: np.ndarray,
    dates: pd.Series,
    evidence: np.ndarray,
    strength: np.ndarray,
) -> Feedback:
    """Return the Feedback of `labels` (labels.LABEL_COLUMNS) on the scored sale lines described by the
    other arguments (same length); verdicts on lines not among them are left out."""
    lines = pd.DataFrame(
        {
            "transaction_id": np.asarray(transaction_ids, dtype=np.int64),
            "customer_id": np.asarray(customer_ids, dtype=np.int64),
            "seconds": seconds(pd.Series(dates).reset_index(drop=True)),
            "evidence": np.asarray(evidence, dtype=object),
            "strength": np.asarray(strength, dtype=np.float64),
        }
    )
    verdicts = labels.assign(transaction_id=labels["transaction_id"].astype(np.int64)).merge(
        lines, on="transaction_id", how="inner"
    )
    closed = pd.to_datetime(verdicts["closed_at"], utc=True)
    verdicts["closed_seconds"] = np.where(
        closed.notna(), seconds(closed.fillna(pd.Timestamp(0, tz="UTC"))), verdicts["seconds"]
    )
    verdicts["label"] = verdicts["label"].astype(np.int64)
    verdicts["review_id"] = verdicts["review_id"].fillna(0).astype(np.int64)
    return Feedback(verdicts[FEEDBACK_COLUMNS].reset_index(drop=True))


def feedback_effects(
    feedback: Feedback,
    transaction_ids: np.ndarray,
    customer_ids: np.ndarray,
    line_seconds: np.ndarray,
    evidence: np.ndarray,
    strength: np.ndarray,
) -> pd.DataFrame:
    """Return per row (positional): `effect` (+1 raised by a fraud, -1 lowered by a dismissal, 0 none)
    and the verdict behind it (`verdict_seconds` of its line, `closed_seconds`, `review_id`)."""
    rows = pd.DataFrame(
        {
            "position": np.arange(len(customer_ids)),
            "transaction_id": np.asarray(transaction_ids, dtype=np.int64),
            "customer_id": np.asarray(customer_ids, dtype=np.int64),
            "seconds": np.asarray(line_seconds, dtype=np.int64),
            "evidence": np.asarray(evidence, dtype=object),
            "strength": np.asarray(strength, dtype=np.float64),
        }
    )
    out = pd.DataFrame(
        {"effect": 0, "verdict_seconds": 0, "closed_seconds": 0, "review_id": 0}, index=rows.index, dtype=np.int64
    )
    verdicts = feedback.verdicts
    if verdicts.empty or rows.empty:
        return out
    dismissed = verdicts[verdicts["label"] == DISMISSED]
    near = rows.merge(dismissed, on=["customer_id", "evidence"], suffixes=("", "_verdict"))
    after = near["seconds"] - near["seconds_verdict"]
    stronger = near["strength"] - near["strength_verdict"]
    near = near[(after >= 0) & (after <= DISMISS_DAYS * DAY_SECONDS) & (stronger <= NEAR_SURPRISE)]
    frauds = verdicts[verdicts["label"] == CONFIRMED].drop(columns=["evidence", "strength"])
    recent = rows.merge(frauds, on="customer_id", suffixes=("", "_verdict"))
    recent = recent[
        ((recent["seconds"] - recent["seconds_verdict"]).abs() <= FRAUD_DAYS * DAY_SECONDS)
        & (recent["transaction_id"] != recent["transaction_id_verdict"])
    ]
    own = rows.merge(dismissed.drop(columns=["evidence", "strength"]), on="transaction_id", suffixes=("", "_verdict"))
    # the latest verdict line of each kind per row; a fraud overwrites a dismissal, a row's own
    # dismissal overwrites both
    for matched, effect in ((near, -1), (recent, 1), (own, -1)):
        if matched.empty:
            continue
        latest = matched.sort_values("seconds_verdict").drop_duplicates("position", keep="last")
        positions = latest["position"].to_numpy()
        out.loc[positions, "effect"] = effect
        out.loc[positions, "verdict_seconds"] = latest["seconds_verdict"].to_numpy()
        out.loc[positions, "closed_seconds"] = latest["closed_seconds"].to_numpy()
        out.loc[positions, "review_id"] = latest["review_id"].to_numpy()
    return out


def apply_effects(surprise: np.ndarray, effect: np.ndarray, threshold: float) -> np.ndarray:
    """Return the fused surprise after the feedback effects (the module's rule)."""
    lowered = np.minimum(surprise, threshold) * DISMISS_FACTOR
    raised = np.maximum(surprise, np.nextafter(threshold, np.inf))
    return np.where(effect < 0, lowered, np.where(effect > 0, raised, surprise))


def _day(value: int) -> str:
    stamp = pd.Timestamp(int(value), unit="s", tz="UTC").tz_convert("Europe/London")
    return f"{stamp.day} {stamp:%b %Y}"


def feedback_reason(effect: int, verdict_seconds: int, closed_seconds: int, review_id: int, evidence: str) -> dict:
    """Return the `flag_reasons` item that states a feedback effect."""
    if effect > 0:
        text = (
            f"this customer's line of {_day(verdict_seconds)} was confirmed as fraud on {_day(closed_seconds)}; "
            f"their lines within {FRAUD_DAYS} days of it are raised for review"
        )
    else:
        text = (
            f"similar to a row dismissed on {_day(closed_seconds)} (same customer, same evidence: {evidence}); "
            f"ranked lower until {DISMISS_DAYS} days after that row's invoice of {_day(verdict_seconds)}"
        )
    return {
        "key": "confirmed_fraud_nearby" if effect > 0 else "similar_to_dismissed",
        "values": {"review_id": int(review_id), "verdict_line_date": _day(verdict_seconds)},
        "surprise": None,
        "text": text,
    }


def apply_feedback(
    scored: pd.DataFrame, frame: pd.DataFrame, feedback: Feedback, *, threshold: float, sale: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (`scored` with fused_surprise, anomaly_score and is_flagged after the effects on the sale
    lines, the effects frame of `feedback_effects` plus `evidence`). `frame`: the scored rows'
    transaction_id, customer_id, invoice_date (same order as `scored`)."""
    evidence = evidence_keys(scored)
    effects = feedback_effects(
        feedback,
        frame["transaction_id"].to_numpy(),
        frame["customer_id"].to_numpy(),
        seconds(frame["invoice_date"]),
        evidence,
        evidence_strength(scored),
    )
    surprise = scored["fused_surprise"].to_numpy(np.float64)
    effect = effects["effect"].to_numpy()
    effects["effect"] = np.where(sale & ~((effect > 0) & (surprise < feedback.raise_floor)), effect, 0)
    effects["evidence"] = evidence
    surprise = apply_effects(surprise, effects["effect"].to_numpy(), threshold)
    scored = scored.assign(
        fused_surprise=surprise, anomaly_score=1.0 - np.exp(-surprise), is_flagged=surprise > threshold
    )
    return scored, effects
