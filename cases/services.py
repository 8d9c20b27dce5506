"""Write paths for cases: grouping alerts per customer, working and closing cases, their history.

Grouping is vectorised: the alerts are read into one DataFrame, split per customer wherever two
consecutive alerts are further apart than the window, and written with bulk_create. An alert joins
the customer's open case when it falls within the window of that case's latest alert; otherwise it
opens a new case. Closing a case applies its verdict to every transaction as a review (through
`reviews.services.apply_review_change`), so they become labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from core.bulk import bulk_insert_frame
from decisions.models import Action
from detection.models import ModelVersion, TransactionScore
from detection.selectors import active_model_version
from reviews.models import Review
from reviews.services import REVIEW_PERMISSIONS, UNSET, apply_review_change
from transactions.models import Customer
from webhooks.models import ALERT_CREATED, CASE_CLOSED, CASE_OPENED
from webhooks.services import emit, emit_many

from .errors import CasePermissionDenied, CaseTransitionError
from .models import Case, CaseEvent, CaseTransaction

Status = Case.Status
OPEN_STATUSES = (Status.OPEN, Status.INVESTIGATING)
CLOSED_STATUSES = (Status.CLOSED_FRAUD, Status.CLOSED_LEGITIMATE)
# One rule per action, asked by the admin and the API alike.
WORK_CASE_PERMISSIONS = ("cases.change_case",)
CLOSE_CASE_PERMISSIONS = (*WORK_CASE_PERMISSIONS, *REVIEW_PERMISSIONS)  # closing writes reviews
REOPEN_CASE_PERMISSION = "cases.reopen_case"
VERDICT_REVIEW_STATUS = {
    Status.CLOSED_FRAUD: Review.Status.CONFIRMED_FRAUD,
    Status.CLOSED_LEGITIMATE: Review.Status.FALSE_POSITIVE,
}
# from -> the statuses it may move to; a closed case goes back to investigating only (reopen).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.OPEN: frozenset({Status.INVESTIGATING, *CLOSED_STATUSES}),
    Status.INVESTIGATING: frozenset({Status.OPEN, *CLOSED_STATUSES}),
    Status.CLOSED_FRAUD: frozenset({Status.INVESTIGATING}),
    Status.CLOSED_LEGITIMATE: frozenset({Status.INVESTIGATING}),
}
ALERT_COLUMNS = ["transaction_id", "customer_id", "invoice_date", "anomaly_score", "total_spent"]
# An alert is a row flagged by a model, or one the published policy decided review or block.
ALERT = Q(is_flagged=True) | Q(decision__decision__in=[Action.REVIEW, Action.BLOCK])


@dataclass
class GroupingOutcome:
    """What a grouping did: cases opened, cases that gained alerts, alerts placed."""

    opened: list[int] = field(default_factory=list)
    joined: list[int] = field(default_factory=list)
    alerts: int = 0


def window_days() -> int:
    return int(getattr(settings, "CASE_WINDOW_DAYS", 30))


def group_alerts_into_cases(version: ModelVersion | None = None, *, window_days_: int | None = None) -> GroupingOutcome:
    """Place every flagged row of `version` (default: active) that is in no case yet into a case.

    Emits case.opened per new case, not alert.created: these alerts are not new. One transaction.
    """
    version = version or active_model_version()
    if version is None:
        return GroupingOutcome()
    alerts = _unplaced_alerts(TransactionScore.objects.filter(ALERT, model_version=version))
    return _group(alerts, window=timedelta(days=window_days_ or window_days()))


def add_alerts(transaction_ids: Iterable[int], *, version: ModelVersion | None = None) -> GroupingOutcome:
    """Place the given transactions' flagged rows (under `version`, default active) into cases.

    Each joins its customer's open case within the window or opens one; emits alert.created per
    alert (with its case id) and case.opened per new case, in the caller's transaction.
    """
    version = version or active_model_version()
    ids = sorted({int(pk) for pk in transaction_ids})
    if version is None or not ids:
        return GroupingOutcome()
    frames = [
        _unplaced_alerts(
            TransactionScore.objects.filter(ALERT, model_version=version, transaction_id__in=ids[i : i + 5_000])
        )
        for i in range(0, len(ids), 5_000)
    ]
    alerts = pd.concat(frames, ignore_index=True)
    return _group(alerts, window=timedelta(days=window_days()), version=version)


def _unplaced_alerts(scores: QuerySet[TransactionScore]) -> pd.DataFrame:
    rows = scores.filter(~Exists(CaseTransaction.objects.filter(transaction_id=OuterRef("transaction_id"))))
    frame = pd.DataFrame.from_records(list(rows.values_list(*ALERT_COLUMNS)), columns=ALERT_COLUMNS)
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"], utc=True)
    return frame


def _group(alerts: pd.DataFrame, *, window: timedelta, version: ModelVersion | None = None) -> GroupingOutcome:
    """Write the cases, links and history for `alerts`; with `version`, emit alert.created as well."""
    outcome = GroupingOutcome(alerts=len(alerts))
    if alerts.empty:
        return outcome
    now = timezone.now()
    alerts = alerts.sort_values(["customer_id", "invoice_date", "transaction_id"], ignore_index=True)
    alerts["amount"] = alerts["total_spent"].abs()  # a refund is at risk as much as a sale
    with transaction.atomic():
        customer_ids = alerts["customer_id"].unique().tolist()
        countries = _lock_customers(customer_ids)
        open_cases = _latest_open_cases(customer_ids)
        previous = alerts.groupby("customer_id", sort=False)["invoice_date"].shift()
        first = previous.isna()
        open_last = pd.Series(open_cases["last_alert_at"].reindex(alerts["customer_id"]).array, index=alerts.index)
        open_last = pd.to_datetime(open_last, utc=True).astype(previous.dtype)
        previous = previous.where(~first, open_last)
        starts = previous.isna() | ((alerts["invoice_date"] - previous) > pd.Timedelta(window))
        # 0: joins the customer's open case; 1, 2, ...: the customer's n-th new case.
        alerts["segment"] = starts.astype(np.int64).groupby(alerts["customer_id"], sort=False).cumsum()
        open_ids = open_cases["case_id"].astype("float64").reindex(alerts["customer_id"]).to_numpy()
        alerts["case_id"] = pd.Series(open_ids, index=alerts.index).where(alerts["segment"] == 0)

        new = alerts[alerts["segment"] > 0]
        if not new.empty:
            new_case_ids = _open_cases(new, now, countries)
            alerts.loc[new.index, "case_id"] = new_case_ids
            outcome.opened = sorted(set(new_case_ids.tolist()))
        joining = alerts[alerts["segment"] == 0]
        if not joining.empty:
            outcome.joined = _join_cases(joining, now)
        alerts["case_id"] = alerts["case_id"].astype(np.int64)
        links = alerts[["case_id", "transaction_id", "anomaly_score"]].assign(
            added_at=pd.Timestamp(now), amount=alerts["total_spent"]
        )
        bulk_insert_frame(CaseTransaction, links)
        if outcome.opened:
            emit_many(CASE_OPENED, case_payloads(outcome.opened))
        if version is not None:
            emit_many(ALERT_CREATED, _alert_payloads(alerts, version))
    return outcome


def _latest_open_cases(customer_ids: list[int]) -> pd.DataFrame:
    """customer_id -> (case_id, last_alert_at) of each customer's latest open case."""
    rows = []
    for start in range(0, len(customer_ids), 5_000):
        rows += Case.objects.filter(
            customer_id__in=customer_ids[start : start + 5_000], status__in=OPEN_STATUSES
        ).values_list("customer_id", "id", "last_alert_at")
    frame = pd.DataFrame.from_records(rows, columns=["customer_id", "case_id", "last_alert_at"])
    frame["customer_id"] = frame["customer_id"].astype(np.int64)
    frame["last_alert_at"] = pd.to_datetime(frame["last_alert_at"], utc=True)
    return frame.sort_values("last_alert_at").drop_duplicates("customer_id", keep="last").set_index("customer_id")


def _lock_customers(customer_ids: list[int]) -> dict[int, str]:
    """Lock the customers' rows until the transaction ends and return their countries.

    Two scorings placing alerts of one customer at once would otherwise both open a case for them
    (PostgreSQL; SQLite already runs write transactions one at a time).
    """
    countries: dict[int, str] = {}
    for start in range(0, len(customer_ids), 5_000):
        chunk = customer_ids[start : start + 5_000]
        countries.update(
            Customer.objects.select_for_update().filter(customer_id__in=chunk).values_list("customer_id", "country")
        )
    return countries


def _open_cases(new: pd.DataFrame, now: datetime, countries: dict[int, str]) -> pd.Series:
    """Create one case per (customer, segment) of `new`; return each row's new case id."""
    per_case = new.groupby(["customer_id", "segment"], sort=False).agg(
        first_alert_at=("invoice_date", "min"),
        last_alert_at=("invoice_date", "max"),
        alert_count=("transaction_id", "size"),
        value_at_risk=("amount", "sum"),
        max_score=("anomaly_score", "max"),
    )
    sla = now + timedelta(hours=int(getattr(settings, "CASE_SLA_HOURS", 72)))
    cases = [
        Case(
            customer_id=customer_id,
            opened_at=now,
            sla_due_at=sla,
            first_alert_at=row.first_alert_at.to_pydatetime(),
            last_alert_at=row.last_alert_at.to_pydatetime(),
            alert_count=int(row.alert_count),
            value_at_risk=round(float(row.value_at_risk), 2),
            max_score=float(row.max_score),
            country=countries.get(customer_id, ""),
        )
        for (customer_id, _segment), row in zip(per_case.index, per_case.itertuples(index=False), strict=True)
    ]
    Case.objects.bulk_create(cases, batch_size=1_000)
    opened = pd.DataFrame({"case_id": [case.pk for case in cases], "alerts": per_case["alert_count"].to_numpy()})
    bulk_insert_frame(
        CaseEvent,
        opened.assign(at=pd.Timestamp(now), from_status="", to_status=Status.OPEN.value)
        .assign(note="opened with " + opened["alerts"].astype(str) + " alerts")
        .drop(columns="alerts"),
    )
    ids = pd.Series([case.pk for case in cases], index=per_case.index)
    keys = pd.MultiIndex.from_arrays([new["customer_id"], new["segment"]])
    return pd.Series(ids.reindex(keys).to_numpy(), index=new.index)


def _join_cases(joining: pd.DataFrame, now: datetime) -> list[int]:
    """Add `joining` rows' figures to their open cases and record it; return the case ids."""
    per_case = joining.groupby("case_id").agg(
        last_alert_at=("invoice_date", "max"),
        first_alert_at=("invoice_date", "min"),
        alert_count=("transaction_id", "size"),
        value_at_risk=("amount", "sum"),
        max_score=("anomaly_score", "max"),
    )
    cases = Case.objects.select_for_update().in_bulk([int(pk) for pk in per_case.index])
    events = []
    for case_id, row in per_case.iterrows():
        case = cases[int(case_id)]
        case.last_alert_at = max(case.last_alert_at, row.last_alert_at.to_pydatetime())
        case.first_alert_at = min(case.first_alert_at, row.first_alert_at.to_pydatetime())
        case.alert_count += int(row.alert_count)
        case.value_at_risk = round(case.value_at_risk + float(row.value_at_risk), 2)
        case.max_score = max(case.max_score, float(row.max_score))
        events.append(
            CaseEvent(
                case=case,
                at=now,
                from_status=case.status,
                to_status=case.status,
                assignee_id=case.assignee_id,
                note=f"{int(row.alert_count)} alerts added",
            )
        )
    Case.objects.bulk_update(
        cases.values(), ["last_alert_at", "first_alert_at", "alert_count", "value_at_risk", "max_score"]
    )
    CaseEvent.objects.bulk_create(events)
    return sorted(cases)


def case_payloads(case_ids: list[int]) -> list[dict]:
    """The `data` of case events: the case's figures, as the API lists them."""
    fields = ["id", "customer_id", "status", "assignee_id", "opened_at", "closed_at", "sla_due_at"]
    fields += ["alert_count", "value_at_risk", "max_score", "country"]
    return list(Case.objects.filter(pk__in=case_ids).order_by("pk").values(*fields))


def _alert_payloads(alerts: pd.DataFrame, version: ModelVersion) -> list[dict]:
    return [
        {
            "transaction_id": pk,
            "customer_id": customer_id,
            "invoice_date": invoice_date.isoformat(),
            "anomaly_score": round(score, 6),
            "amount": amount,
            "model_version": version.pk,
            "case_id": case_id,
        }
        for pk, customer_id, invoice_date, score, amount, case_id in zip(
            alerts["transaction_id"].tolist(),
            alerts["customer_id"].tolist(),
            alerts["invoice_date"].tolist(),
            alerts["anomaly_score"].tolist(),
            alerts["total_spent"].tolist(),
            alerts["case_id"].tolist(),
            strict=True,
        )
    ]


# --- working cases ---------------------------------------------------------------------------


def check_case_transition(from_status: str, to_status: str, actor) -> None:
    """Raise unless `actor` may move a case from `from_status` to `to_status`."""
    if to_status not in Status.values:
        raise CaseTransitionError(f"unknown case status {to_status!r}")
    if from_status == to_status:
        return
    if to_status not in TRANSITIONS[from_status]:
        allowed = ", ".join(sorted(TRANSITIONS[from_status]))
        raise CaseTransitionError(f"a case cannot go from {from_status} to {to_status} (allowed: {allowed})")
    if from_status in CLOSED_STATUSES and not actor.has_perm(REOPEN_CASE_PERMISSION):
        raise CasePermissionDenied("reopening a closed case needs the 'Can reopen a closed case' permission")


def change_case(case_id: int, *, actor, status: str | None = None, assignee=UNSET, notes: str | None = None) -> Case:
    """Change a case's status, assignee or notes, record a CaseEvent and return the case.

    Closing applies the verdict to all its transactions as reviews (confirmed_fraud or
    false_positive; a review closed the other way is first moved back to investigating) and emits
    case.closed. Reopening needs cases.reopen_case; the reviews keep their verdicts until it closes
    again. Raises CaseTransitionError or CasePermissionDenied.
    """
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        before = case.status
        to_status = status or before
        check_case_transition(before, to_status, actor)
        assignee_id = case.assignee_id if assignee is UNSET else getattr(assignee, "pk", assignee)
        notes_changed = notes is not None and notes != case.notes
        if to_status == before and assignee_id == case.assignee_id and not notes_changed:
            return case
        now = timezone.now()
        described = []
        if to_status in CLOSED_STATUSES and before not in CLOSED_STATUSES:
            described.append(_apply_verdict(case, to_status, actor))
            case.closed_at = now
        elif to_status not in CLOSED_STATUSES:
            case.closed_at = None
        if assignee_id != case.assignee_id:
            described.append("assigned" if assignee_id else "unassigned")
        if notes_changed:
            described.append("notes changed")
            case.notes = notes
        case.status, case.assignee_id = to_status, assignee_id
        case.save(update_fields=["status", "assignee", "notes", "closed_at"])
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            at=now,
            from_status=before,
            to_status=to_status,
            assignee_id=assignee_id,
            note="; ".join(described),
        )
        if to_status in CLOSED_STATUSES and before not in CLOSED_STATUSES:
            emit(CASE_CLOSED, case_payloads([case.pk])[0])
    return case


def _apply_verdict(case: Case, verdict: str, actor) -> str:
    """Apply the closing verdict to every transaction of `case` as reviews; describe what it did."""
    ids = list(case.links.values_list("transaction_id", flat=True))
    review_status = VERDICT_REVIEW_STATUS[verdict]
    other = (
        Review.Status.FALSE_POSITIVE
        if review_status == Review.Status.CONFIRMED_FRAUD
        else Review.Status.CONFIRMED_FRAUD
    )
    flipped = list(Review.objects.filter(transaction_id__in=ids, status=other).values_list("transaction_id", flat=True))
    if flipped:
        apply_review_change(flipped, actor=actor, status=Review.Status.INVESTIGATING)
    outcome = apply_review_change(ids, actor=actor, status=review_status)
    if outcome.refused:  # cannot happen after the flip; refuse the close rather than half-apply it
        raise CaseTransitionError(f"reviews refused the verdict: {dict(outcome.refused)}")
    return f"closed: {len(outcome.changed)} reviews set to {review_status}, {len(outcome.unchanged)} already were"


def close_case(case_id: int, *, actor, verdict: str, note: str | None = None) -> Case:
    """Close a case as `verdict` (closed_fraud or closed_legitimate); see change_case."""
    if verdict not in CLOSED_STATUSES:
        raise CaseTransitionError(f"a case closes as one of {', '.join(CLOSED_STATUSES)}, not {verdict!r}")
    if note:
        with transaction.atomic():
            case = Case.objects.get(pk=case_id)
            notes = f"{case.notes}\n{note}".strip() if case.notes else note
            return change_case(case_id, actor=actor, status=verdict, notes=notes)
    return change_case(case_id, actor=actor, status=verdict)


def apply_to_cases(case_ids: Iterable[int], *, actor, **change) -> tuple[int, dict[str, int]]:
    """`change_case` for each case, each in its own transaction; return (changed, refused reasons counted)."""
    changed, refused = 0, {}
    for case_id in sorted(set(case_ids)):
        try:
            change_case(case_id, actor=actor, **change)
            changed += 1
        except (CaseTransitionError, CasePermissionDenied) as exc:
            refused[exc.message] = refused.get(exc.message, 0) + 1
    return changed, refused
