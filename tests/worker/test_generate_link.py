"""payments.generate_link when the provider's wallet no longer holds the asset their quote is in."""

from __future__ import annotations

import pytest

from jobs.models import AttemptStatus
from tests.jobs import factories as f
from tests.worker.conftest import Stack, job_with_quote
from worker import pipeline

pytestmark = [pytest.mark.slow]


def test_a_provider_wallet_in_another_asset_than_the_quote_fails_with_that_reason(stack: Stack) -> None:
    # given a quote in EUR by a provider whose wallet now holds USD, approved
    _, quote = job_with_quote(stack)
    quote.asset_code = "EUR"
    quote.save()
    attempt = f.attempt(
        quote,
        sender_wallet=stack.wallet.wallet_url("fiona"),
        receiver_wallet=stack.wallet.wallet_url("pavel"),
    )
    stack.wallet.stats(reset=True)

    # when its link is generated
    pipeline.generate_link(str(attempt.pk))

    # then the attempt ends with the reason, and the provider's wallet was asked for nothing
    attempt.refresh_from_db()
    assert (attempt.status, attempt.error) == (
        AttemptStatus.FAILED,
        "The provider's wallet now holds USD, but their quote is in EUR; ask them to quote again. "
        "Nothing was paid.",
    )
    assert "incoming-payments.create" not in stack.wallet.stats()["routes"]
