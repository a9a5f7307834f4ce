"""payments.continue_grant for an attempt the funder cancelled while it waited for its wallet."""

from __future__ import annotations

import pytest

from jobs import services
from jobs.models import AttemptStatus
from tests.jobs import factories as f
from tests.worker.conftest import Stack, job_with_quote
from worker import pipeline

pytestmark = [pytest.mark.slow]


def test_a_cancelled_wait_continues_nothing(stack: Stack) -> None:
    # given an authorized attempt whose wallet asked for a long wait, cancelled by its funder
    _, quote = job_with_quote(stack)
    attempt = f.attempt(
        quote,
        AttemptStatus.AUTHORIZED,
        sender_wallet=stack.wallet.wallet_url("fiona"),
        receiver_wallet=stack.wallet.wallet_url("pavel"),
        continue_wait=3600,
    )
    assert services.attempt_cancel(attempt_id=attempt.pk)
    stack.wallet.stats(reset=True)

    # when the continuation step runs (a message sent before the cancel)
    after = pipeline.continue_grant(str(attempt.pk))

    # then it does nothing: no wallet call, the attempt stays cancelled
    assert after is None
    assert stack.wallet.stats()["requests"] == 0
    attempt.refresh_from_db()
    assert (attempt.status, attempt.continue_requested_at, attempt.lease_owner) == (
        AttemptStatus.CANCELLED,
        None,
        None,
    )
