"""The statements every payment step runs on its attempt's row, built once per database and shape.

Every step of every payment claims its attempt and loads it with its job and quote, and ends with a
conditional UPDATE and the event that records it. Building those statements through the ORM each time
cost a worker more CPU than the rest of the step's own work; here each is built once and only its
parameters change. On PostgreSQL the claim and its load are one statement, and so are a status change and
its event: a step makes two round trips to the database instead of six (a transaction's BEGIN and COMMIT
are round trips too). The rows written and read are exactly the ORM's (`tests/jobs/test_rows.py`).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Model
from django.db.models.query import get_related_populators
from django.utils import timezone

from jobs.models import PaymentAttempt, PaymentEvent


def load(attempt_id: uuid.UUID | str) -> PaymentAttempt:
    """The attempt with its job and quote, exactly as `select_related("job", "quote").get(...)` loads
    them; raises PaymentAttempt.DoesNotExist."""
    db = _db()
    loader = _loader(db.alias, db.vendor)
    row = _fetch(db, loader.sql, [_pk(db, attempt_id)])
    if row is None:
        raise PaymentAttempt.DoesNotExist(f"no payment attempt {attempt_id}")
    return loader.instance(row)


def claim(
    attempt_id: uuid.UUID | str,
    *,
    status: str,
    owner: uuid.UUID,
    until: datetime,
    now: datetime,
    mark: str | None = None,
) -> PaymentAttempt | None:
    """Gives the attempt's lease to `owner` until `until`, while it is in `status` and nobody holds the
    lease at `now`, setting the timestamp field `mark` to `now` unless it is set already; the attempt as
    `load` gives it once claimed, None when it was not."""
    db = _db()
    params = [_save(db, "lease_owner", owner), _save(db, "lease_until", until)]
    if mark:
        params.append(_save(db, mark, now))
    params += [_pk(db, attempt_id), _save(db, "status", status), _save(db, "lease_until", now)]
    if db.vendor != "postgresql":
        return load(attempt_id) if _execute(db, _claim_sql(db.vendor, mark), params) == 1 else None
    row = _fetch(db, _claimed_load_sql(db.alias, mark), [*params, _pk(db, attempt_id)])
    return None if row is None else _loader(db.alias, db.vendor).instance(row)


def update(
    attempt_id: uuid.UUID | str,
    values: Mapping[str, object],
    where: Mapping[str, object],
    *,
    event: Mapping[str, object] | None = None,
) -> bool:
    """Sets `values` (field name → value) on the attempt while every field of `where` holds its value
    (None: is null; a list, tuple or set: any of its values); True when it did. With `event` (the fields
    of a `PaymentEvent`), the change is recorded as that event in the same transaction."""
    db = _db()
    wheres = tuple((name, _shape(value)) for name, value in where.items())
    sql = _update_sql(db.vendor, tuple(values), wheres)
    params = [_save(db, name, value) for name, value in values.items()]
    params.append(_pk(db, attempt_id))
    for name, value in where.items():
        if isinstance(value, (list, tuple, set, frozenset)):
            params += [_save(db, name, one) for one in sorted(value)]
        elif value is not None:
            params.append(_save(db, name, value))
    if event is None:
        return _execute(db, sql, params) == 1
    if db.vendor == "postgresql":
        return _execute(db, _with_event_sql(db.vendor, sql), [*params, *_event_params(db, event)]) == 1
    with transaction.atomic():
        if _execute(db, sql, params) != 1:
            return False
        add_event(event)
        return True


def add_event(event: Mapping[str, object]) -> None:
    """Writes the `PaymentEvent` of `event` (its type, job_id, status, attempt_id and refund_id) as
    `PaymentEvent.objects.create(...)` would: a new `event_id`, created now."""
    db = _db()
    _execute(db, _event_sql(db.vendor), _event_params(db, event))


_EVENT_FIELDS = ("event_id", "type", "job_id", "attempt_id", "refund_id", "status", "created_at")


def _event_params(db: Any, event: Mapping[str, object]) -> list[Any]:
    values = {**event, "event_id": uuid.uuid4(), "created_at": timezone.now()}
    return [_field(PaymentEvent, name).get_db_prep_save(values.get(name), db) for name in _EVENT_FIELDS]


def _db() -> Any:
    """This thread's default database connection: resolved once per statement, since every access
    through Django's `connection` proxy looks the thread's connection up again."""
    return connections[DEFAULT_DB_ALIAS]


def _execute(db: Any, sql: str, params: list[Any]) -> int:
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _fetch(db: Any, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def _pk(db: Any, attempt_id: uuid.UUID | str) -> Any:
    pk = _field(PaymentAttempt, "id")
    return pk.get_db_prep_value(pk.to_python(attempt_id), db)


def _save(db: Any, name: str, value: object) -> Any:
    return _field(PaymentAttempt, name).get_db_prep_save(value, db)


def _shape(value: object) -> int | None:
    """How a `where` value is matched: None is null, a number is IN with that many values, -1 equals."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        if not value:
            raise ValueError("an empty set of values matches nothing")
        return len(value)
    return -1


def _field(model: type[Model], name: str) -> Any:
    return model._meta.get_field(name)


def _column(name: str, model: type[Model] = PaymentAttempt) -> str:
    """A column's quoted name; `name` must be a field of `model` (anything else raises)."""
    return connection.ops.quote_name(_field(model, name).column)


def _table(model: type[Model] = PaymentAttempt) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# Only the models' own table and column names are spliced into the statements below; every value is a
# parameter. `vendor` (and `alias`) are part of each cache key only: quoting and SQL differ by database.


@functools.lru_cache(maxsize=64)
def _claim_sql(vendor: str, mark: str | None) -> str:
    """The claim's UPDATE."""
    owner, until = _column("lease_owner"), _column("lease_until")
    sets = [f"{owner} = %s", f"{until} = %s"]
    if mark:
        sets.append(f"{_column(mark)} = COALESCE({_column(mark)}, %s)")
    return (
        f"UPDATE {_table()} SET {', '.join(sets)} WHERE {_column('id')} = %s AND {_column('status')} = %s"  # noqa: S608
        f" AND ({until} IS NULL OR {until} < %s)"
    )


@functools.lru_cache(maxsize=64)
def _claimed_load_sql(alias: str, mark: str | None) -> str:
    """PostgreSQL: the claim's UPDATE and the load of what it claimed, in one statement (the load reads
    the claimed row as the UPDATE left it)."""
    table = _table()
    load_sql = _loader(alias, "postgresql").sql
    assert load_sql.count(f"FROM {table} ") == 1, "the load selects from the attempts' table once"
    claimed = load_sql.replace(f"FROM {table} ", f"FROM claimed AS {table} ")
    return f"WITH claimed AS ({_claim_sql('postgresql', mark)} RETURNING *) {claimed}"


@functools.lru_cache(maxsize=256)
def _update_sql(vendor: str, names: tuple[str, ...], wheres: tuple[tuple[str, int | None], ...]) -> str:
    """The UPDATE setting `names` while `wheres` hold (see `_shape`)."""
    if not names:
        raise ValueError("an update sets at least one field")
    conditions = [f"{_column('id')} = %s"]
    for name, shape in wheres:
        if shape is None:
            conditions.append(f"{_column(name)} IS NULL")
        elif shape < 0:
            conditions.append(f"{_column(name)} = %s")
        else:
            conditions.append(f"{_column(name)} IN ({', '.join(['%s'] * shape)})")
    sets = ", ".join(f"{_column(name)} = %s" for name in names)
    return f"UPDATE {_table()} SET {sets} WHERE {' AND '.join(conditions)}"  # noqa: S608


@functools.lru_cache(maxsize=8)
def _event_sql(vendor: str) -> str:
    """The event's INSERT, its columns in `_EVENT_FIELDS` order."""
    return f"{_event_insert()} VALUES ({_EVENT_VALUES})"


@functools.lru_cache(maxsize=256)
def _with_event_sql(vendor: str, update_sql: str) -> str:
    """PostgreSQL: `update_sql` and, for the row it changed, the event's INSERT, in one statement."""
    changed = f"WITH changed AS ({update_sql} RETURNING 1)"
    return f"{changed} {_event_insert()} SELECT {_EVENT_VALUES} FROM changed"  # noqa: S608


_EVENT_VALUES = ", ".join(["%s"] * len(_EVENT_FIELDS))


def _event_insert() -> str:
    """`INSERT INTO <events> (<columns of _EVENT_FIELDS>)`, without its values (built by the cached
    statements above)."""
    columns = ", ".join(_column(name, PaymentEvent) for name in _EVENT_FIELDS)
    return f"INSERT INTO {_table(PaymentEvent)} ({columns})"


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
    """The compiled load for database `alias`."""
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
