"""payments.poll when a wallet answers in a way it cannot use: money may be moving, so the payment is
checked again until the confirmation deadline, then ends as unconfirmed; never failed at once, never
polled forever."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import AttemptStatus, PaymentAttempt
from tests.jobs import factories as f
from tests.worker.conftest import Stack, job_with_quote
from worker import pipeline

pytestmark = [pytest.mark.slow]


def processing_attempt(stack: Stack, authorized_ago: timedelta) -> PaymentAttempt:
    """A processing attempt whose incoming payment the provider's wallet does not know."""
    _, quote = job_with_quote(stack)
    unknown = f"{stack.wallet.resource_server}/incoming-payments/{uuid.uuid4()}"
    return f.attempt(
        quote,
        AttemptStatus.PROCESSING,
        sender_wallet=stack.wallet.wallet_url("fiona"),
        receiver_wallet=stack.wallet.wallet_url("pavel"),
        incoming_payment_url=unknown,
        outgoing_payment_url="",
        incoming_token="",
        authorized_at=timezone.now() - authorized_ago,
    )


def test_a_payment_the_wallet_refuses_to_show_is_checked_again_before_the_deadline(stack: Stack) -> None:
    # given a processing attempt whose incoming payment the wallet refuses to show
    attempt = processing_attempt(stack, authorized_ago=timedelta(seconds=5))

    # when it is polled
    after = pipeline.poll(str(attempt.pk))

    # then it stays processing, its lease let go, and is checked again with backoff
    assert after == pipeline.Next("poll", 0.5)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.polls, attempt.error, attempt.lease_owner) == (
        AttemptStatus.PROCESSING,
        1,
        "",
        None,
    )


def test_a_payment_the_wallet_refuses_to_show_ends_unconfirmed_after_the_deadline(stack: Stack) -> None:
    # given the same, authorized longer ago than the confirmation deadline
    attempt = processing_attempt(stack, authorized_ago=timedelta(seconds=pipeline.pacing("CONFIRM_SECONDS")))

    # when it is polled
    after = pipeline.poll(str(attempt.pk))

    # then it ends, telling the funder to check their wallet before paying again
    assert after is None
    attempt.refresh_from_db()
    assert (attempt.status, attempt.error) == (AttemptStatus.FAILED, pipeline.UNCONFIRMED)
