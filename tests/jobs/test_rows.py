"""The statements every payment step runs on its attempt: the same rows as the ORM's, in fewer round trips."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs import rows
from jobs.models import AttemptStatus as S
from jobs.models import PaymentAttempt, PaymentEvent
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

# PostgreSQL runs a claim with its load, and a status change with its event, as one statement each.
ONE_STATEMENT = connection.vendor == "postgresql"


def generating(who: str = "") -> PaymentAttempt:
    return f.attempt(f.quote(f.job(f.funder(f"fiona{who}")), f.provider(f"pavel{who}")))


MARK = "incoming_payment_requested_at"


def take(attempt: PaymentAttempt, now: datetime, owner: uuid.UUID | None = None) -> PaymentAttempt | None:
    """A claim of the generating attempt at `now` for 90 s, marking the incoming payment's intent."""
    owner = owner or uuid.uuid4()
    until = now + timedelta(seconds=90)
    return rows.claim(attempt.pk, status=S.GENERATING, owner=owner, until=until, now=now, mark=MARK)


def failed(attempt: PaymentAttempt) -> dict[str, object]:
    """The event of the attempt's failure."""
    return {"type": "payment.failed", "job_id": attempt.job_id, "attempt_id": attempt.pk, "status": "failed"}


def values(instance: models.Model) -> dict[str, object]:
    return {column.attname: getattr(instance, column.attname) for column in instance._meta.concrete_fields}


def types(instance: models.Model) -> dict[str, type]:
    return {name: type(value) for name, value in values(instance).items()}


def stored(attempt: PaymentAttempt) -> dict[str, object]:
    return values(PaymentAttempt.objects.get(pk=attempt.pk))


def events() -> list[tuple[str, int, uuid.UUID | None, int | None, str]]:
    return list(PaymentEvent.objects.values_list("type", "job_id", "attempt_id", "refund_id", "status"))


def test_load_gives_the_attempt_its_job_and_its_quote_as_the_orm_does_in_one_query() -> None:
    # given an attempt with a payment link, as a step leaves it
    attempt = generating()
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        status=S.AWAITING_AUTHORIZATION,
        incoming_payment_url="https://wallet.example/incoming-payments/1",
        link_ready_at=timezone.now(),
    )
    expected = PaymentAttempt.objects.select_related("job", "quote").get(pk=attempt.pk)

    # when it is loaded, by its id or its id's text
    with CaptureQueriesContext(connection) as queries:
        loaded = rows.load(attempt.pk)
        job, quote = loaded.job, loaded.quote
    again = rows.load(str(attempt.pk))

    # then every column of the three rows is the ORM's, with the same Python types, in one query
    assert len(queries) == 1
    for mine, orms in ((loaded, expected), (job, expected.job), (quote, expected.quote), (again, expected)):
        assert values(mine) == values(orms)
        assert types(mine) == types(orms)
    assert loaded._state.adding is False
    assert loaded._state.db == "default"


def test_loading_an_attempt_that_does_not_exist_raises_does_not_exist() -> None:
    # given / when / then
    with pytest.raises(PaymentAttempt.DoesNotExist):
        rows.load(uuid.uuid4())


def test_a_claim_takes_the_lease_marks_the_intent_and_gives_the_attempt_as_loaded() -> None:
    # given an attempt generating its link
    attempt = generating()
    owner, now = uuid.uuid4(), timezone.now()

    # when a delivery claims it, marking the incoming payment it is about to create
    with CaptureQueriesContext(connection) as queries:
        claimed = take(attempt, now, owner)

    # then the attempt it got is the stored row, with its job and quote, as `load` gives it
    assert claimed is not None
    expected = rows.load(attempt.pk)
    assert (values(claimed), types(claimed)) == (values(expected), types(expected))
    assert (values(claimed.job), values(claimed.quote)) == (values(expected.job), values(expected.quote))
    lease = (claimed.lease_owner, claimed.lease_until, claimed.incoming_payment_requested_at)
    assert lease == (owner, now + timedelta(seconds=90), now)
    # in one statement on PostgreSQL (the UPDATE, then the load, elsewhere)
    assert len(queries) == (1 if ONE_STATEMENT else 2)


def test_a_claim_while_someone_holds_the_lease_or_in_another_status_gets_nothing_and_writes_nothing() -> None:
    # given an attempt whose lease someone holds, and one that moved on
    held = generating()
    take(held, timezone.now())
    moved = generating("2")
    PaymentAttempt.objects.filter(pk=moved.pk).update(status=S.AWAITING_AUTHORIZATION)
    before = (stored(held), stored(moved))

    # when another delivery tries to claim each
    got = [take(one, timezone.now()) for one in (held, moved)]

    # then neither is claimed, and neither row changed
    assert got == [None, None]
    assert (stored(held), stored(moved)) == before


def test_a_claim_after_a_lease_ran_out_takes_it_and_keeps_the_earlier_mark() -> None:
    # given an attempt whose first delivery marked its intent and then let its lease run out
    attempt = generating()
    first = timezone.now() - timedelta(minutes=5)
    take(attempt, first)

    # when a redelivery claims it with the same mark
    owner = uuid.uuid4()
    claimed = take(attempt, timezone.now(), owner)

    # then it holds the lease, and the intent keeps the first delivery's moment
    assert claimed is not None
    row = stored(attempt)
    assert (row["lease_owner"], row["incoming_payment_requested_at"]) == (owner, first)


def test_an_update_writes_what_the_orm_would_write_for_every_kind_of_field() -> None:
    # given two identical attempts
    mine, orms = generating(), generating("2")
    now = timezone.now()
    changes: dict[str, object] = {
        "status": S.AWAITING_AUTHORIZATION,
        "payment_url": "https://wallet.example/interact/ünïcode",
        "continue_wait": 5,
        "receiver_already_paid": True,
        "lease_owner": uuid.uuid4(),
        "link_ready_at": now,
        "authorization_expires_at": None,
        "sent_amount": 0,
    }

    # when one is updated through `rows.update` and the other through the ORM
    assert rows.update(mine.pk, changes, where={"status": S.GENERATING}) is True
    PaymentAttempt.objects.filter(pk=orms.pk).update(**changes)

    # then both rows read back the same, but for their own ids, job and quote
    differ = {"id", "job_id", "quote_id", "idempotency_id", "created_at", "updated_at", "sender_wallet",
              "receiver_wallet"}  # fmt: skip
    stored_mine, stored_orms = stored(mine), stored(orms)
    assert {k: v for k, v in stored_mine.items() if k not in differ} == {
        k: v for k, v in stored_orms.items() if k not in differ
    }


@pytest.mark.parametrize(
    "where",
    [
        {"status": S.AWAITING_AUTHORIZATION},
        {"status": [S.AUTHORIZED, S.PROCESSING]},
        {"lease_owner": uuid.uuid4()},
        {"incoming_payment_requested_at": None, "status": S.GENERATING, "continue_wait": 3},
    ],
)
def test_an_update_whose_conditions_do_not_hold_writes_nothing(where: dict[str, object]) -> None:
    # given a generating attempt that marked its intent (no lease, continue_wait 0)
    attempt = generating()
    PaymentAttempt.objects.filter(pk=attempt.pk).update(incoming_payment_requested_at=timezone.now())
    before = stored(attempt)

    # when an update asks for a condition that does not hold, with an event
    changed = rows.update(attempt.pk, {"error": "no"}, where=where, event=failed(attempt))

    # then it says so, and neither the attempt nor the events changed
    assert changed is False
    assert stored(attempt) == before
    assert events() == []


@pytest.mark.parametrize(
    "where",
    [
        {"status": S.GENERATING},
        {"status": [S.GENERATING, S.AUTHORIZED]},
        {"status": frozenset({S.GENERATING}), "lease_owner": None, "incoming_payment_requested_at": None},
    ],
)
def test_an_update_with_its_event_writes_both_in_one_statement(where: dict[str, object]) -> None:
    # given a generating attempt and no events
    attempt = generating()

    # when it moves on with its event
    with CaptureQueriesContext(connection) as queries:
        changed = rows.update(
            attempt.pk,
            {"status": S.FAILED, "error": "The wallet said no."},
            where=where,
            event=failed(attempt),
        )

    # then both are written, the event as the ORM writes one (a new event id, created now)
    assert changed is True
    row = stored(attempt)
    assert (row["status"], row["error"]) == (S.FAILED, "The wallet said no.")
    assert events() == [("payment.failed", attempt.job_id, attempt.pk, None, "failed")]
    event = PaymentEvent.objects.get()
    assert isinstance(event.event_id, uuid.UUID)
    assert timezone.now() - timedelta(seconds=5) < event.created_at <= timezone.now()
    # PostgreSQL: one statement; elsewhere the UPDATE and the INSERT in one transaction
    assert len([q for q in queries if "SAVEPOINT" not in q["sql"]]) == (1 if ONE_STATEMENT else 2)


def test_an_event_is_written_as_the_orm_would_write_it() -> None:
    # given an attempt
    attempt = generating()
    fields = {
        "type": "payment.generating",
        "job_id": attempt.job_id,
        "attempt_id": attempt.pk,
        "status": "generating",
    }

    # when its event is written here, and the same event through the ORM
    rows.add_event(fields)
    PaymentEvent.objects.create(**fields)

    # then the two rows differ only in their ids and (by microseconds) their moments
    mine, orms = (values(event) for event in PaymentEvent.objects.order_by("id"))
    for name in ("id", "event_id", "created_at"):
        assert mine.pop(name) != orms.pop(name)
    assert mine == orms


def test_an_update_refuses_fields_the_attempt_does_not_have() -> None:
    # given an attempt
    attempt = generating()

    # when / then an update names a field that is not the attempt's (nothing reaches the SQL)
    with pytest.raises(Exception, match="has no field named"):
        rows.update(attempt.pk, {'status" = NULL; --': "x"}, where={})
    with pytest.raises(Exception, match="has no field named"):
        rows.update(attempt.pk, {"status": S.FAILED}, where={"1=1 OR id": 1})
