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

from django.db.models import Q
from django.utils import timezone

from jobs.models import PaymentAttempt

LEASE_SECONDS = 60


def claim(attempt_id: uuid.UUID | str, *, status: str, seconds: int = LEASE_SECONDS) -> uuid.UUID | None:
    """Takes the lease while the attempt is in `status`; the owner id, or None when someone holds it."""
    owner = uuid.uuid4()
    now = timezone.now()
    taken = (
        PaymentAttempt.objects.filter(pk=attempt_id, status=status)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
    )
    return owner if taken == 1 else None


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
