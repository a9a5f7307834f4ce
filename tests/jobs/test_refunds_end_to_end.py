"""Refunds on the real stack (local wallet, Redis, a worker): a paid job refunded in part, then the rest.

The provider consents in their own wallet, exactly as the funder did for the payment, and comes back
through the same finish callback; the wallets' balances move by exactly the refunded amounts.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from jobs import services
from jobs.models import AttemptKind, AttemptStatus, Job, PaymentAttempt, Refund
from tests.services import wait_until
from tests.worker.conftest import FUNDER_BALANCE, Stack, job_with_quote, stack  # noqa: F401
from worker import tasks

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def consent(payer: User, attempt: PaymentAttempt) -> None:
    """The payer's wallet consents (the local wallet's auto-consent) and sends their browser back."""
    wait_until(lambda: status(attempt) == AttemptStatus.AWAITING_AUTHORIZATION, 60, "the link")
    attempt.refresh_from_db()
    wallet = httpx.get(attempt.payment_url, follow_redirects=False, timeout=10)
    finish = urlsplit(wallet.headers["location"])
    browser = Client()
    browser.force_login(payer)
    assert browser.get(f"{finish.path}?{finish.query}").status_code == 302
    wait_until(lambda: status(attempt) == AttemptStatus.SUCCEEDED, 60, "the money to arrive")


def status(attempt: PaymentAttempt) -> str:
    return PaymentAttempt.objects.values_list("status", flat=True).get(pk=attempt.pk)


def refund(job: Job, amount: int | None) -> PaymentAttempt:
    """The funder asks for `amount` back (None: the rest) and the provider agrees; the refund's attempt."""
    asked = services.refund_request(job_id=job.pk, funder=job.funder, amount=amount, reason="Half done.")
    provider = asked.payment.quote.provider
    agreed = services.refund_agree(refund_id=asked.pk, provider=provider)
    tasks.generate_link.delay(str(agreed.attempt.pk))
    return agreed.attempt


def test_a_paid_job_refunded_in_part_then_in_full(stack: Stack) -> None:  # noqa: F811
    # given a $45.00 job the funder paid
    job, quote = job_with_quote(stack, amount=4500)
    with stack.worker():
        payment = services.job_quote_approve(job_id=job.pk, quote_id=quote.pk, funder=job.funder).attempt
        tasks.generate_link.delay(str(payment.pk))
        consent(job.funder, payment)
        assert (stack.wallet.balance("fiona"), stack.wallet.balance("pavel")) == (FUNDER_BALANCE - 4500, 4500)

        # when the funder asks for $15.00 back and the provider agrees and consents in their wallet
        first = refund(job, 1500)
        consent(quote.provider, first)

        # then exactly $15.00 went back
        assert (stack.wallet.balance("fiona"), stack.wallet.balance("pavel")) == (FUNDER_BALANCE - 3000, 3000)

        # when the funder asks for the rest
        rest = refund(job, None)
        consent(quote.provider, rest)

    # then the provider paid back the other $30.00, and the job is fully refunded
    assert (stack.wallet.balance("fiona"), stack.wallet.balance("pavel")) == (FUNDER_BALANCE, 0)
    job.refresh_from_db()
    assert (job.status, job.paid_amount, job.refunds_committed, job.refunded_amount) == (
        "paid",
        4500,
        4500,
        4500,
    )
    refunds = Refund.objects.order_by("created_at")
    assert [(r.amount_value, r.status) for r in refunds] == [(1500, "refunded"), (3000, "refunded")]
    attempts = PaymentAttempt.objects.order_by("created_at")
    assert [(a.kind, a.status, a.sender_wallet, a.debit_amount, a.received_amount) for a in attempts] == [
        (AttemptKind.PAYMENT, "succeeded", stack.wallet.wallet_url("fiona"), 4500, 4500),
        (AttemptKind.REFUND, "succeeded", stack.wallet.wallet_url("pavel"), 1500, 1500),
        (AttemptKind.REFUND, "succeeded", stack.wallet.wallet_url("pavel"), 3000, 3000),
    ]

    # and the funder's wallet took each refund on an incoming payment of its own, closed once paid
    refunds_in = [p for p in stack.wallet.payments("fiona")["incomingPayments"]]
    assert [(p["receivedAmount"]["value"], p["completed"]) for p in refunds_in] == [
        ("1500", True),
        ("3000", True),
    ]

    # and a third refund is refused with a clear message, changing nothing
    with pytest.raises(services.ActionRefused) as refused:
        services.refund_request(job_id=job.pk, funder=job.funder, amount=100, reason="More.")
    assert str(refused.value) == "Everything paid for this job is already refunded or asked back."
    assert Refund.objects.count() == 2
    job.refresh_from_db()
    assert (job.refunds_committed, job.refunded_amount) == (4500, 4500)
