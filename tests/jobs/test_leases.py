"""The lease: the one way a pipeline step writes to its attempt (keep, record, end, release)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.leases import LeaseLost, claim, leased
from jobs.models import AttemptStatus as S
from jobs.models import PaymentAttempt
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db


def generating() -> PaymentAttempt:
    return f.attempt(f.quote(f.job(f.funder()), f.provider()))


def stored(attempt: PaymentAttempt) -> PaymentAttempt:
    return PaymentAttempt.objects.get(pk=attempt.pk)


def test_a_claim_holds_the_attempt_marks_the_intent_and_loads_it() -> None:
    # given an attempt generating its link
    attempt = generating()

    # when a delivery claims it, marking the incoming payment it is about to create
    lease = claim(attempt.pk, status=S.GENERATING, mark="incoming_payment_requested_at")

    # then it holds the attempt (a second claim gets nothing), the intent is stored, the attempt loaded
    assert lease is not None
    assert claim(attempt.pk, status=S.GENERATING) is None
    row = stored(attempt)
    assert (row.lease_owner, row.incoming_payment_requested_at) == (lease.owner, lease.started)
    assert (lease.attempt.pk, lease.attempt.job.title) == (attempt.pk, "Translate the README")


def test_what_is_kept_is_written_only_when_the_lease_is_let_go() -> None:
    # given a held lease
    attempt = generating()
    with leased(attempt.pk, status=S.GENERATING) as lease:
        assert lease is not None
        # when the step keeps what it learned
        lease.keep(incoming_payment_url="https://wallet.example/incoming-payments/1")

        # then the attempt in memory has it at once, the database not yet
        assert lease.attempt.incoming_payment_url == "https://wallet.example/incoming-payments/1"
        assert stored(attempt).incoming_payment_url == ""

    # and the release writes it, letting go
    row = stored(attempt)
    assert (row.incoming_payment_url, row.lease_owner, row.lease_until) == (
        "https://wallet.example/incoming-payments/1",
        None,
        None,
    )
    assert row.status == S.GENERATING


def test_a_record_is_written_at_once_with_what_was_kept_and_the_lease_still_held() -> None:
    # given an authorized attempt, leased, that kept one thing
    attempt = f.attempt(f.quote(f.job(f.funder()), f.provider()), S.AUTHORIZED)
    lease = claim(attempt.pk, status=S.AUTHORIZED)
    assert lease is not None
    lease.keep(sent_amount=0)

    # when it records the intent to create the outgoing payment
    moment = timezone.now()
    lease.record(outgoing_payment_requested_at=moment)

    # then both are stored now, and the lease is still held
    row = stored(attempt)
    assert (row.outgoing_payment_requested_at, row.sent_amount, row.lease_owner) == (moment, 0, lease.owner)
    assert lease.kept == {}


def test_a_record_after_the_lease_ran_out_and_was_taken_writes_nothing() -> None:
    # given a lease that ran out and another delivery that took the attempt
    attempt = f.attempt(f.quote(f.job(f.funder()), f.provider()), S.AUTHORIZED)
    lease = claim(attempt.pk, status=S.AUTHORIZED)
    assert lease is not None
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        lease_owner=uuid.uuid4(), lease_until=timezone.now() + timedelta(seconds=60)
    )

    # when the first delivery tries to record an intent
    # then it is told it lost the lease, and nothing is written
    with pytest.raises(LeaseLost):
        lease.record(continue_requested_at=timezone.now())
    assert stored(attempt).continue_requested_at is None


def test_an_end_after_the_lease_ran_out_and_was_taken_writes_nothing() -> None:
    # given a delivery that outlived its lease (a thread pool has no hard time limit) and another that
    # took the attempt
    attempt = generating()
    lease = claim(attempt.pk, status=S.GENERATING)
    assert lease is not None
    lease.keep(payment_url="https://wallet.example/interact/1")
    other = uuid.uuid4()
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        lease_owner=other, lease_until=timezone.now() + timedelta(seconds=60)
    )

    # when the first delivery ends the step
    ended = lease.end(to=S.FAILED, error="too late")

    # then it is told no, and the attempt stays with the delivery holding it, untouched
    row = stored(attempt)
    assert (ended, row.status, row.error, row.payment_url, row.lease_owner) == (
        False,
        S.GENERATING,
        "",
        "",
        other,
    )


def test_end_changes_the_status_with_everything_kept_and_lets_go() -> None:
    # given a lease that kept the link
    attempt = generating()
    with leased(attempt.pk, status=S.GENERATING) as lease:
        assert lease is not None
        lease.keep(payment_url="https://wallet.example/interact/1")

        # when the step ends it
        assert lease.end(to=S.AWAITING_AUTHORIZATION, continue_wait=5) is True

    # then one write moved it on, with all of it, and released the lease
    row = stored(attempt)
    assert (row.status, row.payment_url, row.continue_wait, row.lease_owner) == (
        S.AWAITING_AUTHORIZATION,
        "https://wallet.example/interact/1",
        5,
        None,
    )
