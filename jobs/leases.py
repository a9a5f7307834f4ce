"""A short exclusive lease on a payment attempt, so one delivery of a step works on it at a time.

Celery may deliver a task twice, even in parallel; the lease makes the second delivery step aside. A
holder that crashes keeps the lease only until it runs out, after which a redelivery or the reconciler
takes over.

What a delivery learns on the way is kept on its lease and written when it lets go: with the status
change that ends the step (`Lease.end`), or with the release when it stops early (a retry, an error). A
crash loses only what the step finds again (see `worker.pipeline`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from jobs.models import PaymentAttempt
from jobs.states import transition

RELEASED = {"lease_owner": None, "lease_until": None}


def lease_seconds() -> int:
    """How long a lease lasts; longer than a task may run (its hard time limit)."""
    return int(settings.PAYMENT_PIPELINE["LEASE_SECONDS"])


@dataclass
class Lease:
    """One delivery's hold on an attempt, taken at `started`, and what it learned so far."""

    attempt_id: uuid.UUID | str
    owner: uuid.UUID
    started: datetime
    kept: dict[str, object] = field(default_factory=dict)
    released: bool = False

    def keep(self, **fields: object) -> None:
        """Stores `fields` when the lease is let go (with the status change or the release)."""
        self.kept.update(fields)

    def before(self, moment: datetime | None) -> bool:
        """Whether `moment` (a mark set at a claim) was set by an earlier delivery, not this one."""
        return moment is not None and moment < self.started

    def end(self, *, to: str, source: str, **fields: object) -> bool:
        """The step's status change, with what the lease kept and `fields`, letting go in the same write."""
        values = {**self.kept, **fields, **RELEASED}
        self.released = transition(self.attempt_id, to=to, source=source, **values)
        return self.released


def claim(
    attempt_id: uuid.UUID | str, *, status: str, seconds: int | None = None, mark: str | None = None
) -> Lease | None:
    """Takes the lease while the attempt is in `status`, or None when someone holds it. `mark` names a
    timestamp field set to the claim's moment unless an earlier delivery set it (an intent recorded
    before the step's first call, in the same write)."""
    owner = uuid.uuid4()
    now = timezone.now()
    fields: dict[str, object] = {
        "lease_owner": owner,
        "lease_until": now + timedelta(seconds=seconds or lease_seconds()),
    }
    if mark:
        fields[mark] = Coalesce(F(mark), Value(now))
    taken = (
        PaymentAttempt.objects.filter(pk=attempt_id, status=status)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(**fields)
    )
    return Lease(attempt_id, owner, now) if taken == 1 else None


def held_for(attempt_id: uuid.UUID | str, *, status: str) -> float | None:
    """Seconds until someone else's lease on the attempt runs out, while it is still in `status`."""
    until = (
        PaymentAttempt.objects.filter(pk=attempt_id, status=status)
        .values_list("lease_until", flat=True)
        .first()
    )
    if until is None:
        return None
    return max(0.0, (until - timezone.now()).total_seconds())


def release(lease: Lease) -> None:
    """Gives the lease back with what it kept, if its owner still holds it."""
    fields = {**lease.kept, "updated_at": timezone.now()} if lease.kept else {}
    PaymentAttempt.objects.filter(pk=lease.attempt_id, lease_owner=lease.owner).update(**fields, **RELEASED)
    lease.released = True


@contextmanager
def leased(attempt_id: uuid.UUID | str, *, status: str, mark: str | None = None) -> Iterator[Lease | None]:
    """The lease for the block (None when another delivery holds it), let go afterwards unless the block
    ended it with a status change."""
    lease = claim(attempt_id, status=status, mark=mark)
    try:
        yield lease
    finally:
        if lease is not None and not lease.released:
            release(lease)
