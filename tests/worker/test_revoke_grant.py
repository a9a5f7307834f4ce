"""A finished attempt's grant is revoked at the funder's wallet: after success, after any other end, and
by the reconciler when the wallet could not be reached the first time."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from jobs.models import AttemptStatus, Job, PaymentAttempt
from tests.services import wait_until
from tests.worker.conftest import Stack, job_with_quote
from worker import pipeline, reconciler

pytestmark = [pytest.mark.slow, pytest.mark.wallet(auto_consent="accept", wait=0, settle_delay=0.05)]


def grant_of(stack: Stack, attempt: PaymentAttempt) -> dict[str, object]:
    """The wallet's record of the attempt's outgoing-payment grant."""
    continue_id = attempt.continue_uri.rsplit("/", 1)[1]
    (grant,) = [grant for grant in stack.wallet.state()["grants"] if grant["continue_id"] == continue_id]
    return grant


def authorized(stack: Stack) -> PaymentAttempt:
    """An attempt the funder approved and consented to in their wallet, its steps run in this process."""
    job, quote = job_with_quote(stack)
    browser = Client()
    browser.force_login(job.funder)
    browser.post(f"/jobs/{job.pk}/quotes/{quote.pk}/approve")
    attempt = PaymentAttempt.objects.get(job=job)
    pipeline.generate_link(str(attempt.pk))
    attempt.refresh_from_db()
    consent = httpx.get(attempt.payment_url, follow_redirects=False, timeout=10, verify=stack.wallet.verify)
    finish = urlsplit(consent.headers["location"])
    browser.get(f"{finish.path}?{finish.query}")
    return PaymentAttempt.objects.get(pk=attempt.pk)


def paid(stack: Stack) -> PaymentAttempt:
    """An attempt driven in this process until its job is paid."""
    attempt = authorized(stack)
    assert pipeline.continue_grant(str(attempt.pk)) is not None

    def settled() -> bool:
        pipeline.poll(str(attempt.pk))
        return PaymentAttempt.objects.get(pk=attempt.pk).status == AttemptStatus.SUCCEEDED

    wait_until(settled, 20, "the payment to settle", interval=0.2)
    return PaymentAttempt.objects.get(pk=attempt.pk)


def test_after_the_job_is_paid_the_grant_is_revoked_at_the_wallet(stack: Stack) -> None:
    # given / when a payment goes through to paid
    attempt = paid(stack)

    # then the wallet's admin shows the grant revoked, and the attempt records it
    assert (grant_of(stack, attempt)["state"], grant_of(stack, attempt)["finalization"]) == (
        "finalized",
        "revoked",
    )
    assert attempt.grant_revoked_at is not None
    assert attempt.job.status == Job.Status.PAID


def test_a_revocation_the_wallet_fails_does_not_hold_up_the_job_and_the_reconciler_retries_it(
    stack: Stack,
) -> None:
    # given a wallet that will fail the next grant revocation
    stack.wallet.faults({"routes": {"grant.cancel": {"errorNext": 1, "errorStatus": 503}}})

    # when the payment goes through to paid
    attempt = paid(stack)

    # then the job is paid, the grant still stands, and the attempt still owes its revocation
    assert (attempt.status, attempt.job.status, attempt.grant_revoked_at) == (
        AttemptStatus.SUCCEEDED,
        Job.Status.PAID,
        None,
    )
    assert grant_of(stack, attempt)["finalization"] == "issued"

    # when the reconciler runs before the revocation is stale, then later
    soon = reconciler.reconcile(now=timezone.now())
    later = reconciler.reconcile(now=timezone.now() + timedelta(minutes=5))

    # then only the later run asks for it, once
    assert (soon["cancel_grant"], later["cancel_grant"]) == ([], [str(attempt.pk)])

    # when the step it asks for runs
    pipeline.cancel_grant(str(attempt.pk))

    # then the grant is revoked, and no later run asks again
    attempt.refresh_from_db()
    assert attempt.grant_revoked_at is not None
    assert grant_of(stack, attempt)["finalization"] == "revoked"
    assert reconciler.reconcile(now=timezone.now() + timedelta(minutes=10))["cancel_grant"] == []


def test_an_attempt_that_ends_without_paying_has_its_grant_revoked(stack: Stack) -> None:
    # given an authorized attempt whose price went up at the wallet while the funder was there
    attempt = authorized(stack)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(debit_amount=attempt.debit_amount - 1)
    stack.wallet.advance_clock(3600)

    # when the continuation step runs (the quote expired: a new one costs more than approved)
    pipeline.continue_grant(str(attempt.pk))

    # then the attempt failed, nothing was paid, and its grant is revoked
    attempt.refresh_from_db()
    assert (attempt.status, attempt.error, attempt.error_code) == (
        AttemptStatus.FAILED,
        pipeline.PRICE_CHANGED,
        "price_changed",
    )
    assert attempt.grant_revoked_at is not None
    assert grant_of(stack, attempt)["finalization"] == "revoked"
    assert stack.wallet.payments("fiona")["outgoingPayments"] == []
