"""Write paths for decisions: drafts, rules, thresholds, publishing and re-deciding stored rows (lists: lists.py).

Every change goes through here and leaves an `AuditEvent` (who, when, before/after) in the same
database transaction as the change itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.bulk import bulk_insert_frame
from core.errors import InvalidInput
from detection.models import ModelVersion, TransactionScore
from detection.selectors import active_model_version, scores_for
from webhooks.services import emit_many

from . import conditions, selectors
from .audit import delete_recorded, policy_snapshot, record, rule_snapshot
from .engine import decide_frame
from .lists import (  # noqa: F401  (the list services are reached through this module too)
    ListInUse,
    add_list_entries,
    create_list,
    delete_list,
    import_list_csv,
    remove_list_entry,
)
from .models import Action, Policy, Rule, TransactionDecision
from .signals import alerts_decided

logger = logging.getLogger(__name__)


class PolicyNotDraft(InvalidInput):
    default_message = "Only a draft policy can be changed or published; create a draft from it first."


# --- Policies and rules ----------------------------------------------------------------------------


def validate_thresholds(review_at: Any, block_at: Any) -> tuple[int, int]:
    """(review_at, block_at) as ints in 0..99 with review_at <= block_at; InvalidInput names the field."""
    errors: dict[str, list[str]] = {}
    values = {}
    for name, value in (("review_at", review_at), ("block_at", block_at)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 99:
            errors[name] = [f"must be a whole number from 0 to 99, not {value!r}."]
        values[name] = value
    if not errors and values["review_at"] > values["block_at"]:
        errors["review_at"] = [f"must not be above block_at ({values['block_at']}), not {values['review_at']}."]
    if errors:
        raise InvalidInput(errors=errors)
    return values["review_at"], values["block_at"]


def create_draft(*, user, based_on: Policy | None = None, name: str = "") -> Policy:
    """A new draft copying `based_on` (default: the published version): thresholds and rules."""
    based_on = based_on or selectors.published_policy()
    with transaction.atomic():
        draft = Policy.objects.create(
            name=name or f"draft from v{based_on.pk}",
            review_at=based_on.review_at,
            block_at=based_on.block_at,
            based_on=based_on,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        Rule.objects.bulk_create(
            Rule(policy=draft, **rule_snapshot(rule)) for rule in based_on.rules.order_by("order", "id")
        )
        record(
            actor=user,
            action="create",
            obj=draft,
            summary=f"draft v{draft.pk} from v{based_on.pk}",
            after=policy_snapshot(draft),
        )
    return draft


def _require_draft(policy: Policy) -> None:
    if policy.status != Policy.Status.DRAFT:
        raise PolicyNotDraft(errors={"policy": [f"v{policy.pk} is {policy.status}, not a draft."]})


def set_thresholds(*, policy: Policy, review_at: Any, block_at: Any, user) -> Policy:
    _require_draft(policy)
    review_at, block_at = validate_thresholds(review_at, block_at)
    before = {"review_at": policy.review_at, "block_at": policy.block_at}
    with transaction.atomic():
        policy.review_at, policy.block_at = review_at, block_at
        policy.save(update_fields=["review_at", "block_at"])
        record(
            actor=user,
            action="update",
            obj=policy,
            summary=f"thresholds of v{policy.pk}",
            before=before,
            after={"review_at": review_at, "block_at": block_at},
        )
    return policy


def validated_rule_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Rule fields with the condition validated (typed values); InvalidInput names each bad field."""
    errors: dict[str, list[str]] = {}
    if data.get("action") not in Action.values:
        errors["action"] = [f"must be one of {', '.join(Action.values)}, not {data.get('action')!r}."]
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        errors["name"] = ["must be text of 1 to 100 characters."]
    reason = data.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > 255:
        errors["reason"] = ["must be text of at most 255 characters."]
    order = data.get("order") or 0
    if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 1_000_000:
        errors["order"] = [f"must be a whole number from 0 to 1000000, not {order!r}."]
    is_enabled = data.get("is_enabled", True)
    if not isinstance(is_enabled, bool):
        errors["is_enabled"] = [f"must be true or false, not {is_enabled!r}."]
    try:
        condition = conditions.validate_condition(data.get("condition"), lists=selectors.list_kinds())
    except conditions.InvalidCondition as exc:
        errors.update(exc.errors)
        condition = None
    if errors:
        raise InvalidInput(errors=errors)
    return {
        "action": data["action"],
        "name": name.strip(),
        "reason": reason,
        "order": order,
        "condition": condition,
        "is_enabled": is_enabled,
    }


def save_rule(*, policy: Policy, data: dict[str, Any], user, rule: Rule | None = None) -> Rule:
    """Create (or update `rule`) on a draft policy from plain data, validated and audited."""
    _require_draft(policy)
    values = validated_rule_fields(data)
    if policy.rules.filter(name=values["name"]).exclude(pk=getattr(rule, "pk", None)).exists():
        raise InvalidInput(errors={"name": [f"this policy already has a rule named {values['name']!r}."]})
    with transaction.atomic():
        before = rule_snapshot(rule) if rule else None
        rule = rule or Rule(policy=policy)
        for key, value in values.items():
            setattr(rule, key, value)
        rule.save()
        record(
            actor=user,
            action="update" if before else "create",
            obj=rule,
            summary=f"rule '{rule.name}' of v{policy.pk}",
            before=before,
            after=rule_snapshot(rule),
        )
    return rule


def delete_rule(*, rule: Rule, user) -> None:
    _require_draft(rule.policy)
    delete_recorded(rule, user=user, summary=f"rule '{rule.name}' of v{rule.policy_id}", before=rule_snapshot(rule))


def publish_policy(*, policy: Policy, user, redecide: bool = True) -> Policy:
    """Make the draft `policy` the published one, atomically; the previous one becomes archived.

    Every rule is validated again (a list may have been deleted since). With `redecide`, stored rows
    of the active model are re-decided in a background task once the switch is committed.
    """
    _require_draft(policy)
    lists = selectors.list_kinds()
    errors: dict[str, list[str]] = {}
    for rule in policy.rules.all():
        try:
            conditions.validate_condition(rule.condition, lists=lists)
        except conditions.InvalidCondition as exc:
            errors.update({f"rules[{rule.name}].{path}": messages for path, messages in exc.errors.items()})
    if errors:
        raise InvalidInput("The draft has invalid rules.", errors=errors)
    with transaction.atomic():
        previous = Policy.objects.select_for_update().filter(status=Policy.Status.PUBLISHED).first()
        before = policy_snapshot(previous) if previous else None
        if previous is not None:
            previous.status = Policy.Status.ARCHIVED
            previous.save(update_fields=["status"])
        policy.status = Policy.Status.PUBLISHED
        policy.published_at = timezone.now()
        policy.published_by = user if user is not None and user.is_authenticated else None
        policy.save(update_fields=["status", "published_at", "published_by"])
        record(
            actor=user,
            action="publish",
            obj=policy,
            summary=f"published v{policy.pk}" + (f", archived v{previous.pk}" if previous else ""),
            before=before,
            after=policy_snapshot(policy),
        )
        if redecide:
            transaction.on_commit(_enqueue_redecide)
    return policy


def _enqueue_redecide() -> None:
    from django_q.tasks import async_task

    try:
        async_task("decisions.tasks.redecide_active", sync=bool(settings.Q_CLUSTER.get("sync")), group="decisions")
    except Exception:  # the switch is committed; `manage.py decide_transactions` re-decides by hand
        logger.exception("could not queue re-deciding after publishing")


# --- Deciding stored rows --------------------------------------------------------------------------


def _decide_into_table(
    frames: Iterable[pd.DataFrame], *, version: ModelVersion, policy: Policy, announce: bool = False
) -> int:
    """Decide and store `frames`; with `announce` (first decisions of new rows), tell others of the
    alerts: a `decision.block` webhook event per blocked row and the `alerts_decided` signal."""
    compiled = selectors.compiled_policy(policy)
    written = 0
    for frame in frames:
        decided = decide_frame(frame, compiled)
        table = pd.DataFrame(
            {
                "score_id": frame["id"].to_numpy(),
                "model_version_id": version.pk,
                "policy_id": policy.pk,
                "decision": decided.decision,
                "risk": decided.risk,
                "reasons": decided.reasons_json,
            }
        )
        written += bulk_insert_frame(TransactionDecision, table)
        if announce:  # after the decisions are stored: receivers read them
            _announce(frame, decided.decision, version)
    return written


def redecide_version(
    *, version: ModelVersion | None = None, policy: Policy | None = None, chunk_size: int = 50_000
) -> int:
    """Decide every stored row of `version` (default: active) under `policy` (default: published).

    Replaces the version's decisions in one database transaction (readers see the old set until it
    commits), reading and writing `chunk_size` rows at a time. Returns the rows decided; 0 without
    an active model.
    """
    version = version or active_model_version()
    if version is None:
        return 0
    policy = policy or selectors.published_policy()
    keys = selectors.needed_keys(policy.rules.filter(is_enabled=True))
    with transaction.atomic():
        TransactionDecision.objects.filter(model_version=version).delete()
        frames = selectors.score_frames(scores_for(version), keys, chunk_size=chunk_size)
        return _decide_into_table(frames, version=version, policy=policy)


def decide_undecided(*, version: ModelVersion | None = None, chunk_size: int = 50_000) -> int:
    """Decide the stored rows of `version` (default: active) that have no decision yet, e.g. rows
    scored since the last re-decide, or every row of a newly trained model. Returns the rows decided."""
    version = version or active_model_version()
    if version is None:
        return 0
    policy = selectors.published_policy()
    keys = selectors.needed_keys(policy.rules.filter(is_enabled=True))
    with transaction.atomic():
        undecided = scores_for(version).filter(decision__isnull=True)
        return _decide_into_table(
            selectors.score_frames(undecided, keys, chunk_size=chunk_size),
            version=version,
            policy=policy,
            announce=True,
        )


def decide_scores(score_ids: list[int], *, announce: bool = False) -> int:
    """Decide (or decide again) the given stored score rows under the published policy.

    With `announce` (rows just stored), blocked rows emit `decision.block` and review/block rows
    are signalled as alerts (cases opens or joins a case for them)."""
    if not score_ids:
        return 0
    scores = TransactionScore.objects.filter(pk__in=score_ids)
    versions = set(scores.values_list("model_version_id", flat=True))
    policy = selectors.published_policy()
    keys = selectors.needed_keys(policy.rules.filter(is_enabled=True))
    written = 0
    with transaction.atomic():
        TransactionDecision.objects.filter(score_id__in=score_ids).delete()
        for version in ModelVersion.objects.filter(pk__in=versions):
            frames = selectors.score_frames(scores.filter(model_version=version), keys)
            written += _decide_into_table(frames, version=version, policy=policy, announce=announce)
    return written


def _announce(frame: pd.DataFrame, decisions: Any, version: ModelVersion) -> None:
    decisions = pd.Series(decisions, index=frame.index).astype(str)
    blocked = frame[decisions == Action.BLOCK]
    emit_many(
        "decision.block",
        [{"transaction_id": int(pk), "model_version": version.pk} for pk in blocked["score_transaction_id"]],
    )
    alerting = frame.loc[decisions.isin([Action.REVIEW, Action.BLOCK]), "score_transaction_id"]
    if len(alerting):
        alerts_decided.send(sender=TransactionDecision, version=version, transaction_ids=alerting.astype(int).tolist())


def decide_stored_transactions(transaction_ids: Iterable[int], version: ModelVersion) -> int:
    """Decide the score rows of `version` for the given (just stored) transactions."""
    ids = [int(pk) for pk in transaction_ids]
    score_ids = list(
        TransactionScore.objects.filter(model_version=version, transaction_id__in=ids).values_list("id", flat=True)
    )
    return decide_scores(score_ids, announce=True)
