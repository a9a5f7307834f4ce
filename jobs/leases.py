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

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.db.models.query import get_related_populators
from django.utils import timezone

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
        written = (
            PaymentAttempt.objects.filter(
                pk=self.attempt.pk, status=self.status, lease_owner=self.owner
            ).update(**values)
            == 1
        )
        if not written:
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
            unless=~Q(lease_owner=self.owner),
            known=self.attempt,
            **values,
        )
        if self.released:
            self.attempt.status = to
        return self.released

    def release(self) -> None:
        """Gives the lease back with what it kept, if its owner still holds it."""
        fields = {**self.kept, "updated_at": timezone.now()} if self.kept else {}
        PaymentAttempt.objects.filter(pk=self.attempt.pk, lease_owner=self.owner).update(**fields, **RELEASED)
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
    fields: dict[str, object] = {
        "lease_owner": owner,
        "lease_until": now + timedelta(seconds=lease_seconds()),
    }
    if mark:
        fields[mark] = Coalesce(F(mark), Value(now))
    taken = (
        PaymentAttempt.objects.filter(pk=attempt_id, status=status)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(**fields)
    )
    if taken != 1:
        return None
    return Lease(load(attempt_id), owner, status, now)


def load(attempt_id: uuid.UUID | str) -> PaymentAttempt:
    """The attempt with its job and quote, exactly as `select_related("job", "quote").get(...)` loads
    them, from a statement compiled once per database: every step of every payment starts with this
    load, and the ORM building its 67 columns each time took five times the CPU of running it compiled."""
    loader = _loader(connection.alias, connection.vendor)
    with connection.cursor() as cursor:
        pk = PaymentAttempt._meta.pk
        cursor.execute(loader.sql, [pk.get_db_prep_value(pk.to_python(attempt_id), connection)])
        row = cursor.fetchone()
    if row is None:
        raise PaymentAttempt.DoesNotExist(f"no payment attempt {attempt_id}")
    return loader.instance(row)


@dataclass(frozen=True)
class _Loader:
    """One compiled attempt-with-job-and-quote query, and how to turn its row into model instances (what
    Django's ModelIterable does for each row)."""

    sql: str
    compiler: Any
    init_list: list[str]
    start: int
    end: int
    populators: list[Any]
    converters: dict[int, Any]

    def instance(self, row: tuple[Any, ...]) -> PaymentAttempt:
        if self.converters:
            row = next(iter(self.compiler.apply_converters([row], self.converters)))
        attempt = PaymentAttempt.from_db(self.compiler.using, self.init_list, row[self.start : self.end])
        for populator in self.populators:
            populator.populate(row, attempt)
        return attempt


@functools.cache
def _loader(alias: str, vendor: str) -> _Loader:
    """The compiled load for database `alias` (`vendor` is part of the cache key only: the SQL differs
    between PostgreSQL and SQLite)."""
    query = PaymentAttempt.objects.using(alias).select_related("job", "quote").filter(pk=uuid.UUID(int=0))
    compiler = query.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    assert len(params) == 1, "the only parameter is the attempt's id"
    select, info = compiler.select, compiler.klass_info
    start, end = info["select_fields"][0], info["select_fields"][-1] + 1
    return _Loader(
        sql=sql,
        compiler=compiler,
        init_list=[column[0].target.attname for column in select[start:end]],
        start=start,
        end=end,
        populators=get_related_populators(info, select, alias),  # type: ignore[call-arg]  # stubs of a later Django
        converters=compiler.get_converters([column[0] for column in select]),
    )


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
