"""The state machines of payment attempts, refunds and budgets: every status change goes through
`transition` (attempts), `refund_transition` (refunds) or `budget_transition` (budgets).

Each change is a conditional UPDATE on the expected current status, so two deliveries of the same task,
a callback racing the reconciler, or a double click can never both win: the loser sees `False`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import rows
from jobs.models import FINAL_STATUSES, AttemptKind, Budget, Job, PaymentAttempt, Refund
from jobs.models import AttemptStatus as S

R = Refund.Status

TRANSITIONS: dict[str, frozenset[str]] = {
    # Straight to processing when the funder's budget paid at once (no link, no consent).
    S.GENERATING: frozenset({S.AWAITING_AUTHORIZATION, S.PROCESSING, S.FAILED, S.CANCELLED}),
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
    where: Mapping[str, object] | None = None,
    known: PaymentAttempt | None = None,
    **fields: object,
) -> bool:
    """Moves the attempt to `to` (from `source`, or from any status that allows it), setting `fields`;
    only while the attempt's fields hold the values of `where` (None: unset; checked in the same UPDATE).
    The change is recorded as a `PaymentEvent` in the same transaction (`known`: the attempt as the
    caller loaded it, saving a read).

    True when this call made the change; False when the attempt was not in a status it could move from
    (someone else got there first, or it is already final). Reaching `succeeded` marks, in the same
    transaction, the job paid (with what the provider received) or the refund refunded.
    """
    allowed = sources_of(to)
    if not allowed or (source is not None and source not in allowed):
        raise IllegalTransition(f"{source or 'any status'} -> {to}")
    now = timezone.now()
    values: dict[str, object] = {"status": to, "updated_at": now, **fields}
    if to in FINAL:
        values.setdefault("finished_at", now)
    event = event_of(attempt_id, to, known)
    if event is None:
        return False
    where = {**(where or {}), "status": source if source is not None else allowed}
    if to != S.SUCCEEDED:
        return rows.update(attempt_id, values, where, event=event)
    with transaction.atomic():
        changed = rows.update(attempt_id, values, where, event=event)
        if changed:
            succeeded(attempt_id, now)
    return changed


def attempt_event(attempt_id: uuid.UUID | str, status: str, known: PaymentAttempt | None = None) -> None:
    """Records that the attempt reached `status` (in the caller's transaction); `known` is the attempt
    as loaded, when the caller has it."""
    event = event_of(attempt_id, status, known)
    if event is None:
        raise PaymentAttempt.DoesNotExist(f"no payment attempt {attempt_id}")
    rows.add_event(event)


def event_of(
    attempt_id: uuid.UUID | str, status: str, known: PaymentAttempt | None = None
) -> dict[str, object] | None:
    """The fields of the event saying the attempt reached `status`; None when there is no such attempt.
    `known` is the attempt as loaded, saving a read (its kind, job and refund never change)."""
    if known is not None:
        kind, job_id, refund_id = known.kind, known.job_id, known.refund_id
    else:
        found = (
            PaymentAttempt.objects.values_list("kind", "job_id", "refund_id").filter(pk=attempt_id).first()
        )
        if found is None:
            return None
        kind, job_id, refund_id = found
    prefix = "refund_attempt" if kind == AttemptKind.REFUND else "payment"
    return {
        "type": f"{prefix}.{status}",
        "job_id": job_id,
        "attempt_id": attempt_id,
        "refund_id": refund_id,
        "status": status,
    }


def refund_event(refund_id: int, status: str) -> None:
    """Records that the refund reached `status` (in the caller's transaction)."""
    job_id = Refund.objects.values_list("job_id", flat=True).get(pk=refund_id)
    rows.add_event({"type": f"refund.{status}", "job_id": job_id, "refund_id": refund_id, "status": status})


def succeeded(attempt_id: uuid.UUID | str, now: datetime) -> None:
    """What an attempt's success settles: the job paid, or the refund paid back and counted on its job."""
    kind, job_id, refund_id, received, price = PaymentAttempt.objects.values_list(
        "kind", "job_id", "refund_id", "received_amount", "quote__amount_value"
    ).get(pk=attempt_id)
    if kind == AttemptKind.PAYMENT:
        paid = price if received is None else received
        Job.objects.filter(pk=job_id).update(status=Job.Status.PAID, paid_at=now, paid_amount=paid)
        return
    amount = Refund.objects.values_list("amount_value", flat=True).get(pk=refund_id)
    if refund_transition(refund_id, to=R.REFUNDED, refunded_at=now):
        Job.objects.filter(pk=job_id).update(refunded_amount=F("refunded_amount") + amount)


REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    R.REQUESTED: frozenset({R.AGREED, R.DECLINED, R.CANCELLED}),
    R.AGREED: frozenset({R.DECLINED, R.REFUNDED}),
}
# A refund that ends in one of these gives its amount back to what may still be refunded.
RELEASING = frozenset({R.DECLINED, R.CANCELLED})


def refund_transition(refund_id: int, *, to: str, source: str | None = None, **fields: object) -> bool:
    """Moves the refund to `to` (from `source`, or from any status that allows it), setting `fields`;
    True when this call made the change. Declining or cancelling it gives its amount back to what the
    job may still have refunded, in the same transaction."""
    allowed = frozenset(s for s, targets in REFUND_TRANSITIONS.items() if to in targets)
    if not allowed or (source is not None and source not in allowed):
        raise IllegalTransition(f"refund {source or 'any status'} -> {to}")
    expected = [source] if source is not None else sorted(allowed)
    with transaction.atomic():
        changed = Refund.objects.filter(pk=refund_id, status__in=expected).update(status=to, **fields) == 1
        if changed:
            refund_event(refund_id, to)
        if changed and to in RELEASING:
            amount, job_id = Refund.objects.values_list("amount_value", "job_id").get(pk=refund_id)
            Job.objects.filter(pk=job_id).update(refunds_committed=F("refunds_committed") - amount)
    return changed


B = Budget.Status
BUDGET_TRANSITIONS: dict[str, frozenset[str]] = {
    B.PREPARING: frozenset({B.AWAITING, B.ENDED}),
    B.AWAITING: frozenset({B.AUTHORIZED, B.ENDED}),
    B.AUTHORIZED: frozenset({B.ACTIVE, B.ENDED}),
    B.ACTIVE: frozenset({B.ENDED}),
}


def budget_transition(
    budget_id: uuid.UUID | str, *, to: str, source: str | None = None, **fields: object
) -> bool:
    """Moves the budget to `to` (from `source`, or from any status that allows it), setting `fields`;
    True when this call made the change. Ending it records when."""
    allowed = frozenset(s for s, targets in BUDGET_TRANSITIONS.items() if to in targets)
    if not allowed or (source is not None and source not in allowed):
        raise IllegalTransition(f"budget {source or 'any status'} -> {to}")
    values: dict[str, object] = {"status": to, "updated_at": timezone.now(), **fields}
    if to == B.ENDED:
        values.setdefault("ended_at", values["updated_at"])
    expected = [source] if source is not None else sorted(allowed)
    return Budget.objects.filter(pk=budget_id, status__in=expected).update(**values) == 1
