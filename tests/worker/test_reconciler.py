"""The reconciler re-drives stale attempts, once per stale period, in bounded batches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import AttemptStatus, PaymentAttempt
from tests.jobs import factories as f
from worker import reconciler

pytestmark = pytest.mark.django_db


def stale_attempts(count: int, status: str = AttemptStatus.PROCESSING) -> list[str]:
    funder, provider = f.funder(), f.provider()
    ids = []
    for n in range(count):
        attempt = f.attempt(f.quote(f.job(funder, title=f"job {n}"), provider), status)
        ids.append(str(attempt.pk))
    PaymentAttempt.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    return ids


def test_a_stale_attempt_is_re_driven_once_until_it_is_stale_again() -> None:
    # given a payment whose poll message was lost (regression: under a backlog every beat run re-enqueued
    # every waiting attempt again, doubling the load; the chaos suite's burst collapsed under it)
    [attempt_id] = stale_attempts(1)

    # when the reconciler runs twice in a row
    first = reconciler.reconcile()
    second = reconciler.reconcile()

    # then the poll is enqueued by the first run only
    assert first["poll"] == [attempt_id]
    assert second["poll"] == []

    # and again once the attempt has been quiet for the stale period
    later = timezone.now() + timedelta(hours=1)
    assert reconciler.reconcile(now=later)["poll"] == [attempt_id]


def test_one_run_re_drives_a_bounded_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    # given more stale attempts than one batch
    monkeypatch.setattr(reconciler, "BATCH", 3)
    ids = stale_attempts(5, AttemptStatus.GENERATING)

    # when the reconciler runs twice
    first, second = reconciler.reconcile(), reconciler.reconcile()

    # then the first run takes three, the next the other two
    assert len(first["generate_link"]) == 3
    assert sorted(first["generate_link"] + second["generate_link"]) == sorted(ids)


@pytest.mark.parametrize(
    ("reported", "status", "error"),
    [
        (
            "",
            AttemptStatus.EXPIRED,
            "This payment link expired before it was authorized. Get a new link to pay.",
        ),
        ("grant_rejected", AttemptStatus.DECLINED, "You declined the payment in your wallet."),
    ],
)
def test_an_unused_link_ends_as_its_wallet_reported_or_as_expired(
    reported: str, status: str, error: str
) -> None:
    # given a payment link past its authorization deadline, with or without a decline noted from a
    # browser without the funder's session
    attempt = f.attempt(
        f.quote(f.job(f.funder()), f.provider()),
        AttemptStatus.AWAITING_AUTHORIZATION,
        reported_result=reported,
        authorization_expires_at=timezone.now() - timedelta(seconds=1),
    )

    # when the reconciler runs
    plan = reconciler.reconcile()

    # then the link ends as reported (or expired), its grant to be revoked
    attempt.refresh_from_db()
    assert (attempt.status, attempt.error, attempt.lease_owner) == (status, error, None)
    assert plan["cancel_grant"] == [str(attempt.pk)]
