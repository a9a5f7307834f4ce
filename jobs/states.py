"""The payment attempt's state machine: every status change goes through `transition`.

Each change is a conditional UPDATE on the expected current status, so two deliveries of the same task,
a callback racing the reconciler, or a double click can never both win: the loser sees `False`.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jobs.models import FINAL_STATUSES, Job, PaymentAttempt
from jobs.models import AttemptStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.GENERATING: frozenset({S.AWAITING_AUTHORIZATION, S.FAILED, S.CANCELLED}),
    S.AWAITING_AUTHORIZATION: frozenset({S.AUTHORIZED, S.DECLINED, S.EXPIRED, S.CANCELLED, S.FAILED}),
    S.AUTHORIZED: frozenset({S.PROCESSING, S.FAILED, S.EXPIRED, S.CANCELLED}),
    S.PROCESSING: frozenset({S.SUCCEEDED, S.FAILED}),
}
FINAL = FINAL_STATUSES


class IllegalTransition(ValueError):
    """A status change the state machine does not have (a programming error, not a race)."""


def sources_of(target: str) -> frozenset[str]:
    """The statuses an attempt may move to `target` from."""
    return frozenset(source for source, targets in TRANSITIONS.items() if target in targets)


def transition(
    attempt_id: uuid.UUID | str,
    *,
    to: str,
    source: str | None = None,
    unless: Q | None = None,
    **fields: object,
) -> bool:
    """Moves the attempt to `to` (from `source`, or from any status that allows it), setting `fields`;
    not when the attempt matches `unless` (checked in the same UPDATE).

    True when this call made the change; False when the attempt was not in a status it could move from
    (someone else got there first, or it is already final). Reaching `succeeded` marks the job paid in
    the same transaction.
    """
    allowed = sources_of(to)
    if not allowed or (source is not None and source not in allowed):
        raise IllegalTransition(f"{source or 'any status'} -> {to}")
    now = timezone.now()
    values: dict[str, object] = {"status": to, "updated_at": now, **fields}
    if to in FINAL:
        values.setdefault("finished_at", now)
    expected = [source] if source is not None else sorted(allowed)
    change = PaymentAttempt.objects.filter(pk=attempt_id, status__in=expected)
    if unless is not None:
        change = change.exclude(unless)
    if to != S.SUCCEEDED:
        return change.update(**values) == 1
    with transaction.atomic():
        changed = change.update(**values) == 1
        if changed:
            Job.objects.filter(attempts__pk=attempt_id).update(status=Job.Status.PAID, paid_at=now)
    return changed
