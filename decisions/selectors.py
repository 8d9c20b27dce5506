"""Read paths for decisions: the published policy compiled, backtests, the threshold view. Return plain data.

Review verdicts are read through the ORM path `Transaction.review__status` (decisions sits below
reviews and never imports it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pandas as pd
from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.prepared import PreparedQuery
from detection.models import ModelVersion, TransactionScore
from detection.selectors import require_active_model_version, scores_for
from transactions.models import Transaction

from . import conditions
from .engine import (
    APPROVE,
    BLOCK,
    REVIEW,
    CompiledPolicy,
    CompiledRule,
    Decisions,
    decide_frame,
    decision_case,
    order_rules,
    risk_cutoff,
)
from .models import AuditEvent, ListEntry, Policy, Rule, ValueList

CONFIRMED_FRAUD, FALSE_POSITIVE = "confirmed_fraud", "false_positive"  # reviews.Review.Status values


def _reviewed(*statuses: str) -> QuerySet[Transaction]:
    """Ids of the transactions whose review has one of `statuses` (the small review table drives the query)."""
    return Transaction.objects.filter(review__status__in=statuses).values("id")


def _verdict(status: str) -> Q:
    return Q(transaction_id__in=_reviewed(status))


def _days(scores: QuerySet[TransactionScore]) -> int:
    """Calendar days from the first to the last invoice of `scores` (two index seeks; MIN and MAX together scan)."""
    first = scores.order_by("invoice_date").values_list("invoice_date", flat=True).first()
    last = scores.order_by("-invoice_date").values_list("invoice_date", flat=True).first()
    return (last.date() - first.date()).days + 1 if first else 0


def published_policy() -> Policy:
    """The published policy version (a migration creates the first, so there always is one)."""
    return Policy.objects.get(status=Policy.Status.PUBLISHED)


def list_kinds() -> dict[str, str]:
    """Every list's name -> kind, for validating conditions."""
    return dict(ValueList.objects.values_list("name", "kind"))


def active_list_values(names: Iterable[str]) -> dict[str, frozenset]:
    """The values of the named lists that have not expired, typed as rules compare them. One query."""
    names = list(names)
    if not names:
        return {}
    now = timezone.now()
    rows = (
        ListEntry.objects.filter(list__name__in=names)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values_list("list__name", "list__kind", "value")
    )
    values: dict[str, set] = {name: set() for name in names}
    for name, kind, value in rows:
        values[name].add(conditions.list_value(kind, value))
    return {name: frozenset(members) for name, members in values.items()}


def compile_rules(rules: Iterable[Rule], *, review_at: int, block_at: int, policy_id: int = 0) -> CompiledPolicy:
    """Compile enabled `rules` (conditions already validated when saved) with the lists' current values."""
    rules = [rule for rule in rules if rule.is_enabled]
    names = set().union(*(conditions.referenced_lists(rule.condition) for rule in rules)) if rules else set()
    lists = active_list_values(names)
    compiled = [
        CompiledRule(
            name=rule.name,
            action=rule.action,
            reason=rule.reason,
            condition=conditions.compile_condition(rule.condition, lists=lists),
        )
        for rule in rules
    ]
    return CompiledPolicy(policy_id=policy_id, review_at=review_at, block_at=block_at, rules=order_rules(compiled))


def compiled_policy(policy: Policy | None = None) -> CompiledPolicy:
    """`policy` (default: the published one) ready to decide. Two or three queries."""
    policy = policy or published_policy()
    return compile_rules(policy.rules.all(), review_at=policy.review_at, block_at=policy.block_at, policy_id=policy.pk)


# The published policy compiled, per process: (latest audit event, compiled, valid until).
_published_cache: dict[str, tuple[Any, CompiledPolicy, Any]] = {}
# The latest audit event's id and time, read on every decision: its query compiled once.
_LATEST_AUDIT_EVENT = PreparedQuery(AuditEvent, lambda: AuditEvent.objects.order_by("-id").values_list("id", "at")[:1])


def published_compiled() -> CompiledPolicy:
    """The published policy compiled, reused while nothing changed. One query when reused.

    Every change of rules, thresholds, lists, entries and publishing leaves an AuditEvent, so the
    latest event (id and time, which differ across processes and test rollbacks alike) tells whether
    the compiled copy is stale; it also expires when the next list entry does.
    """
    marker = _LATEST_AUDIT_EVENT.first()
    now = timezone.now()
    cached = _published_cache.get("published")
    if cached and cached[0] == marker and (cached[2] is None or now < cached[2]):
        return cached[1]
    compiled = compiled_policy(published_policy())
    next_expiry = ListEntry.objects.filter(expires_at__gt=now).aggregate(first=Min("expires_at"))["first"]
    _published_cache["published"] = (marker, compiled, next_expiry)
    return compiled


def decide_rows(frame: pd.DataFrame | Mapping[str, Any]) -> Decisions:
    """Decide the rows of `frame` (scored now, e.g. by POST /api/score; a frame or a mapping of columns)
    under the published policy."""
    return decide_frame(frame, published_compiled())


def needed_keys(rules: Iterable[Rule]) -> list[str]:
    """The columns the rules read, plus anomaly_score for the thresholds."""
    keys = {"anomaly_score"}
    for rule in rules:
        keys |= conditions.fields_used(rule.condition)
    return sorted(keys)


def score_frames(
    queryset: QuerySet[TransactionScore], keys: list[str], *, chunk_size: int = 50_000
) -> Iterator[pd.DataFrame]:
    """The rows of `queryset` in id order, `chunk_size` at a time, as frames with `id`,
    `transaction_id` and `keys` columns (named as `conditions.FIELD_KINDS`)."""
    paths = [conditions.PATHS[key] for key in keys]
    last = 0
    while True:
        rows = list(
            queryset.filter(id__gt=last).order_by("id").values_list("id", "transaction_id", *paths)[:chunk_size]
        )
        if not rows:
            return
        frame = pd.DataFrame(rows, columns=["id", "score_transaction_id", *keys])
        if "unit_price" in frame:
            frame["unit_price"] = frame["unit_price"].astype(float)
        if "invoice_date" in frame:
            frame["invoice_date"] = pd.to_datetime(frame["invoice_date"], utc=True)
        last = int(frame["id"].iloc[-1])
        yield frame
        if len(rows) < chunk_size:
            return


# --- Backtests -------------------------------------------------------------------------------------


def _verdicts(prefix: str, q: Q) -> dict[str, Count]:
    return {
        f"{prefix}_confirmed_fraud": Count("id", filter=q & _verdict(CONFIRMED_FRAUD)),
        f"{prefix}_false_positive": Count("id", filter=q & _verdict(FALSE_POSITIVE)),
    }


def backtest(policy: Policy, *, version: ModelVersion | None = None) -> dict[str, Any]:
    """What `policy` would have decided on every stored row of `version` (default: the active one).

    Returns per rule its matches and the confirmed-fraud / false-positive verdicts among them; the
    decision counts; alerts (review + block) per day with their mean; and the verdicts among alerts.
    Three grouped queries, whatever the number of rows.
    """
    version = version or require_active_model_version()
    rules = [rule for rule in policy.rules.all() if rule.is_enabled]
    compiled = compile_rules(rules, review_at=policy.review_at, block_at=policy.block_at, policy_id=policy.pk)
    by_name = {rule.name: rule for rule in compiled.rules}
    scores = scores_for(version)
    aggregates: dict[str, Any] = {"rows": Count("id")}
    for index, rule in enumerate(rules):
        q = by_name[rule.name].condition.q
        aggregates[f"r{index}"] = Count("id", filter=q)
        aggregates.update(_verdicts(f"r{index}", q))
    totals = scores.aggregate(**aggregates)
    decided = scores.annotate(would_decide=decision_case(compiled))
    counts = {APPROVE: 0, REVIEW: 0, BLOCK: 0}
    counts.update(dict(decided.values("would_decide").annotate(n=Count("id")).values_list("would_decide", "n")))
    alerted = decided.exclude(would_decide=APPROVE)
    per_day = list(
        alerted.annotate(day=TruncDate("invoice_date"))
        .values("day")
        .annotate(
            alerts=Count("id"),
            blocks=Count("id", filter=Q(would_decide=BLOCK)),
            **_verdicts("alerts", Q()),
        )
        .order_by("day")
    )
    days = _days(scores)
    alerts = counts[REVIEW] + counts[BLOCK]
    return {
        "policy": policy.pk,
        "model_version": version.pk,
        "rows": totals["rows"],
        "rules": [
            {
                "name": rule.name,
                "action": rule.action,
                "matches": totals[f"r{index}"],
                "confirmed_fraud": totals[f"r{index}_confirmed_fraud"],
                "false_positive": totals[f"r{index}_false_positive"],
            }
            for index, rule in enumerate(rules)
        ],
        "decisions": counts,
        "alerts": alerts,
        "days": days,
        "alerts_per_day": round(alerts / days, 2) if days else 0.0,
        "confirmed_fraud": sum(day["alerts_confirmed_fraud"] for day in per_day),
        "false_positive": sum(day["alerts_false_positive"] for day in per_day),
        "by_day": [
            {
                "day": day["day"].isoformat(),
                "alerts": day["alerts"],
                "blocks": day["blocks"],
                "confirmed_fraud": day["alerts_confirmed_fraud"],
                "false_positive": day["alerts_false_positive"],
            }
            for day in per_day
        ],
    }


def rule_matches(condition: dict, *, version: ModelVersion | None = None) -> int:
    """How many stored rows of `version` (default: active) a valid condition matches. One or two queries."""
    version = version or require_active_model_version()
    lists = active_list_values(conditions.referenced_lists(condition))
    return scores_for(version).filter(conditions.compile_condition(condition, lists=lists).q).count()


def threshold_view(*, review_at: int, block_at: int, version: ModelVersion | None = None) -> dict[str, Any]:
    """For thresholds alone (no rules): alerts per day, labelled fraud caught, false positives.

    One aggregate over the version's indexed anomaly_score (rows under the review cut are never
    read), two index seeks for the date span, one aggregate over the reviewed rows only.
    """
    version = version or require_active_model_version()
    scores = scores_for(version)
    review_cut, block_cut = risk_cutoff(review_at), risk_cutoff(block_at)
    alerts = scores.filter(anomaly_score__gte=review_cut).aggregate(
        alerts=Count("id"), blocks=Count("id", filter=Q(anomaly_score__gte=block_cut))
    )
    days = _days(scores)
    labelled = scores.filter(transaction_id__in=_reviewed(CONFIRMED_FRAUD, FALSE_POSITIVE)).aggregate(
        fraud=Count("id", filter=_verdict(CONFIRMED_FRAUD)),
        fraud_caught=Count("id", filter=_verdict(CONFIRMED_FRAUD) & Q(anomaly_score__gte=review_cut)),
        false_positive=Count("id", filter=_verdict(FALSE_POSITIVE) & Q(anomaly_score__gte=review_cut)),
    )
    return {
        "review_at": review_at,
        "block_at": block_at,
        "alerts": alerts["alerts"],
        "reviews": alerts["alerts"] - alerts["blocks"],
        "blocks": alerts["blocks"],
        "days": days,
        "alerts_per_day": round(alerts["alerts"] / days, 2) if days else 0.0,
        "labelled_fraud": labelled["fraud"],
        "fraud_caught": labelled["fraud_caught"],
        "fraud_caught_share": round(labelled["fraud_caught"] / labelled["fraud"], 4) if labelled["fraud"] else None,
        "false_positives": labelled["false_positive"],
    }


def policies() -> QuerySet[Policy]:
    return Policy.objects.select_related("created_by", "published_by").prefetch_related("rules")


def value_lists() -> QuerySet[ValueList]:
    return ValueList.objects.annotate(entry_count=Count("entries"))


def published_rules_using(value_list: ValueList) -> list[Rule]:
    """The published policy's rules whose condition reads `value_list`."""
    rules = Rule.objects.filter(policy__status=Policy.Status.PUBLISHED)
    return [rule for rule in rules if value_list.name in conditions.referenced_lists(rule.condition)]
