"""A short exclusive lease on a payment attempt, so one delivery of a step works on it at a time.

Celery may deliver a task twice, even in parallel; the lease makes the second delivery step aside. A
holder that crashes keeps the lease only until it runs out, after which a redelivery or the reconciler
takes over.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from jobs.models import PaymentAttempt


def lease_seconds() -> int:
    """How long a lease lasts; longer than a task may run (its hard time limit)."""
    return int(settings.PAYMENT_PIPELINE["LEASE_SECONDS"])


def claim(attempt_id: uuid.UUID | str, *, status: str, seconds: int | None = None) -> uuid.UUID | None:
    """Takes the lease while the attempt is in `status`; the owner id, or None when someone holds it."""
    owner = uuid.uuid4()
    now = timezone.now()
    taken = (
        PaymentAttempt.objects.filter(pk=attempt_id, status=status)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_owner=owner, lease_until=now + timedelta(seconds=seconds or lease_seconds()))
    )
    return owner if taken == 1 else None


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


def release(attempt_id: uuid.UUID | str, owner: uuid.UUID) -> None:
    """Gives the lease back, if `owner` still holds it."""
    PaymentAttempt.objects.filter(pk=attempt_id, lease_owner=owner).update(lease_owner=None, lease_until=None)


@contextmanager
def leased(attempt_id: uuid.UUID | str, *, status: str) -> Iterator[uuid.UUID | None]:
    """The lease for the block (None when another delivery holds it), released afterwards."""
    owner = claim(attempt_id, status=status)
    try:
        yield owner
    finally:
        if owner is not None:
            release(attempt_id, owner)
