"""The reconciler: finds attempts whose task messages were lost and says which steps to run again.

The attempt rows are the outbox: a working status that has not moved for a while means its message was
lost (a worker crash past its retries, a broker restart, a publish that never happened). Running a step
again is safe because every step is idempotent and leased. Links nobody used expire here too, and a
finished attempt whose grant could not be revoked is tried again (for `REVOKE_FOR` after it ended).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from jobs.leases import leased
from jobs.models import FINAL_STATUSES, Budget, PaymentAttempt
from jobs.models import AttemptStatus as S
from jobs.services import attempt_expiry
from jobs.states import budget_transition

STEP_OF: dict[str, str] = {
    S.GENERATING: "generate_link",
    S.AUTHORIZED: "continue_grant",
    S.PROCESSING: "poll",
}
# Attempts re-driven per run at most, so a run ends well within the task time limit; the rest wait for the
# next run.
BATCH = 200
# How long after an attempt ended its grant revocation is still retried. Tokens expire within minutes, but
# an expired token can be rotated back to life while its grant stands.
REVOKE_FOR = timedelta(days=7)


def reconcile(now: datetime | None = None) -> dict[str, list[str]]:
    """Task name → attempt ids to run it for; expired links are moved to `expired` on the way."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=int(settings.PAYMENT_PIPELINE["STALE_SECONDS"]))
    plan: dict[str, list[str]] = {
        name: [] for name in (*STEP_OF.values(), "cancel_grant", *BUDGET_STEP_OF.values(), "revoke_budget")
    }
    stale = touched(
        PaymentAttempt.objects.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now),
            status__in=list(STEP_OF),
            updated_at__lt=stale_before,
        ),
        now,
        "status",
    )
    for attempt_id, status in stale:
        plan[STEP_OF[status]].append(str(attempt_id))
    owed = touched(
        PaymentAttempt.objects.filter(
            status__in=sorted(FINAL_STATUSES),
            grant_revoked_at__isnull=True,
            updated_at__lt=stale_before,
            finished_at__gt=now - REVOKE_FOR,
        ).exclude(continue_uri=""),
        now,
    )
    # Finished attempts whose grant is still to be revoked (the revocation failed, or its task was lost).
    plan["cancel_grant"].extend(str(row[0]) for row in owed)
    unused = PaymentAttempt.objects.filter(
        status=S.AWAITING_AUTHORIZATION, authorization_expires_at__lt=now
    ).values_list("pk", flat=True)
    for attempt_id in unused:
        with leased(attempt_id, status=S.AWAITING_AUTHORIZATION) as lease:
            if lease is None:
                continue
            status, error = attempt_expiry(lease.attempt)
            if lease.end(to=status, error=error):
                plan["cancel_grant"].append(str(attempt_id))
    reconcile_budgets(plan, now, stale_before)
    return plan


BUDGET_STEP_OF: dict[str, str] = {
    Budget.Status.PREPARING: "request_budget_grant",
    Budget.Status.AUTHORIZED: "continue_budget_grant",
}
BUDGET_LINK_EXPIRED = "The link to your wallet expired before you approved the budget. Set it again."


def reconcile_budgets(plan: dict[str, list[str]], now: datetime, stale_before: datetime) -> None:
    """Budgets whose step's message was lost, consent links nobody used (ended here), and ended budgets
    whose grant is still to be revoked, into `plan`."""
    stale = Budget.objects.filter(status__in=list(BUDGET_STEP_OF), updated_at__lt=stale_before)
    for budget_id, status in stale.values_list("pk", "status")[:BATCH]:
        plan[BUDGET_STEP_OF[status]].append(str(budget_id))
    unused = Budget.objects.filter(status=Budget.Status.AWAITING, consent_expires_at__lt=now)
    for budget_id in unused.values_list("pk", flat=True)[:BATCH]:
        budget_transition(
            budget_id, to=Budget.Status.ENDED, source=Budget.Status.AWAITING, end_reason=BUDGET_LINK_EXPIRED
        )
    owed = Budget.objects.filter(
        status=Budget.Status.ENDED, grant_revoked_at__isnull=True, ended_at__gt=now - REVOKE_FOR
    ).exclude(continue_uri="")
    plan["revoke_budget"].extend(str(budget_id) for budget_id in owed.values_list("pk", flat=True)[:BATCH])


def touched(candidates: QuerySet[PaymentAttempt], now: datetime, *fields: str) -> list[tuple[Any, ...]]:
    """The oldest `BATCH` of `candidates` (their id and `fields`), locked, then touched (`updated_at`
    set to `now`): an attempt comes back once per STALE_SECONDS at most, even while a backlog keeps its
    message waiting, so the reconciler never multiplies the load it is meant to relieve."""
    with transaction.atomic():
        rows = list(
            candidates.select_for_update(skip_locked=True)
            .order_by("updated_at")
            .values_list("pk", *fields)[:BATCH]
        )
        PaymentAttempt.objects.filter(pk__in=[row[0] for row in rows]).update(updated_at=now)
    return rows
