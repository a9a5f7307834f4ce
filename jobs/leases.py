"""A short exclusive lease on a payment attempt: the one way a pipeline step writes to it.

Celery may deliver a task twice, even in parallel; the lease makes the second delivery step aside. A
holder that crashes keeps the lease only until it runs out, after which a redelivery or the reconciler
takes over.

A step writes only through its lease, in three ways:
- `keep`: what it learned, written when it lets go (with the status change, or with the release when it
  stops early: a wait, a transient error);
- `record`: what must be in the database before the step goes on (an intent recorded before a call that
  would create something twice if repeated; a token that is the only copy);
- `end`: the status change that ends the step, with everything kept, letting go in the same write.
A crash loses only what was kept and not yet written, which the next delivery finds again (see
`worker.pipeline`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from jobs import rows
from jobs.models import PaymentAttempt
from jobs.states import transition

RELEASED = {"lease_owner": None, "lease_until": None}


class LeaseLost(Exception):
    """The lease is no longer held (it ran out, or the attempt left the step's status, e.g. the funder
    cancelled it): nothing was written, and the step must stop."""


def lease_seconds() -> int:
    """How long a lease lasts; longer than a task may run (its hard time limit)."""
    return int(settings.PAYMENT_PIPELINE["LEASE_SECONDS"])


@dataclass
class Lease:
    """One delivery's hold on an attempt in `status`, taken at `started`, and what it learned so far.

    `attempt` is the attempt as loaded after the claim (with its job and quote), kept up to date in memory
    with everything the lease keeps or records.
    """

    attempt: PaymentAttempt
    owner: uuid.UUID
    status: str
    started: datetime
    kept: dict[str, object] = field(default_factory=dict)
    released: bool = False

    def keep(self, **fields: object) -> None:
        """Sets `fields` on the attempt now, and in the database when the lease is let go."""
        self._set(fields)
        self.kept.update(fields)

    def record(self, **fields: object) -> None:
        """Writes `fields` (and everything kept so far) now, while the lease is still held; raises
        LeaseLost, writing nothing, when it is not."""
        self._set(fields)
        values = {**self.kept, **fields, "updated_at": timezone.now()}
        if not rows.update(self.attempt.pk, values, where={"status": self.status, "lease_owner": self.owner}):
            raise LeaseLost(f"lease on {self.attempt.pk} no longer held")
        self.kept.clear()

    def before(self, moment: datetime | None) -> bool:
        """Whether `moment` (a mark set at a claim) was set by an earlier delivery, not this one."""
        return moment is not None and moment < self.started

    def end(self, *, to: str, **fields: object) -> bool:
        """The step's status change, with what the lease kept and `fields`, letting go in the same write;
        False, writing nothing, when the lease is no longer held (a holder that outlived its lease)."""
        self._set(fields)
        values: dict[str, Any] = {**self.kept, **fields, **RELEASED}
        self.released = transition(
            self.attempt.pk,
            to=to,
            source=self.status,
            where={"lease_owner": self.owner},
            known=self.attempt,
            **values,
        )
        if self.released:
            self.attempt.status = to
        return self.released

    def release(self) -> None:
        """Gives the lease back with what it kept, if its owner still holds it."""
        fields = {**self.kept, "updated_at": timezone.now()} if self.kept else {}
        rows.update(self.attempt.pk, {**fields, **RELEASED}, where={"lease_owner": self.owner})
        self.released = True

    def _set(self, fields: dict[str, object]) -> None:
        for name, value in fields.items():
            setattr(self.attempt, name, value)


def claim(attempt_id: uuid.UUID | str, *, status: str, mark: str | None = None) -> Lease | None:
    """Takes the lease while the attempt is in `status` and loads it, or None when someone holds it (or
    the attempt is no longer in `status`). `mark` names a timestamp field set to the claim's moment unless
    an earlier delivery set it: an intent recorded before the step's first call, in the same write."""
    owner = uuid.uuid4()
    now = timezone.now()
    until = now + timedelta(seconds=lease_seconds())
    attempt = rows.claim(attempt_id, status=status, owner=owner, until=until, now=now, mark=mark)
    return None if attempt is None else Lease(attempt, owner, status, now)


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


@contextmanager
def leased(attempt_id: uuid.UUID | str, *, status: str, mark: str | None = None) -> Iterator[Lease | None]:
    """The lease for the block (None when another delivery holds it), let go afterwards unless the block
    ended it with a status change."""
    lease = claim(attempt_id, status=status, mark=mark)
    try:
        yield lease
    finally:
        if lease is not None and not lease.released:
            lease.release()
