"""Cross-currency on the real stack (local wallet, Redis, a worker): a provider quotes 40.00 EUR and a
funder pays it from a USD wallet. The funder's wallet works out the debit (rate and fee); the provider
receives exactly the quoted euros, and the marketplace shows both amounts.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from jobs.models import AttemptStatus, Job, PaymentAttempt, Quote
from jobs.money import format_amount
from tests.jobs.test_end_to_end import sign_up
from tests.services import wait_until
from tests.worker.conftest import FUNDER_BALANCE, Stack, stack  # noqa: F401 - the fixture of the real stack
from tests.worker.cross_currency import PRICE, RATE, WALLET, debit_for

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.wallet(**WALLET)]


def status(attempt: PaymentAttempt) -> str:
    return PaymentAttempt.objects.values_list("status", flat=True).get(pk=attempt.pk)


def payment_status(browser: Client, job: Job) -> dict[str, object]:
    """The job's payment status document, as `browser`'s user reads it."""
    response = browser.get(reverse("api-job-payment", kwargs={"job_id": job.pk}))
    assert response.status_code == 200
    document: dict[str, object] = response.json()
    return document


def test_a_40_eur_quote_paid_from_a_usd_wallet(stack: Stack) -> None:  # noqa: F811
    # given a funder with a USD wallet and a provider with a EUR wallet, who signed up and saved them, and
    # the funder's job
    stack.wallet.create_wallet("paula", asset_code="EUR", asset_scale=2, public_name="Paula")
    funder = sign_up("fiona", "is_funder", stack.wallet.wallet_url("fiona"))
    provider = sign_up("paula", "is_provider", stack.wallet.wallet_url("paula"))
    job = Job.objects.create(
        funder=User.objects.get(username="fiona"),
        title="Translate the landing page",
        description="Into German.",
    )

    # when the provider quotes 40.00 in their wallet's asset
    provider.post(reverse("quote-create", kwargs={"job_id": job.pk}), {"amount": "40.00"})

    # then the quote is in EUR
    quote = Quote.objects.get()
    assert (quote.amount_value, quote.asset_code, quote.asset_scale) == (PRICE, "EUR", 2)

    with stack.worker():
        # when the funder approves, consents in the wallet and comes back
        funder.post(reverse("quote-approve", kwargs={"job_id": job.pk, "quote_id": quote.pk}))
        attempt = PaymentAttempt.objects.get(job=job)
        wait_until(lambda: status(attempt) == AttemptStatus.AWAITING_AUTHORIZATION, 60, "the link")
        attempt.refresh_from_db()
        consent = httpx.get(attempt.payment_url, follow_redirects=False, timeout=10)
        finish = urlsplit(consent.headers["location"])
        assert funder.get(f"{finish.path}?{finish.query}").status_code == 302

        # then the job is paid
        wait_until(lambda: status(attempt) == AttemptStatus.SUCCEEDED, 60, "the payment")

    # and the attempt stored the wallet's quote: 44.22 USD debited (40.00 EUR at 0.92 is 43.48 USD, plus
    # 0.30 + 1% in fees) for exactly 40.00 EUR received
    debit = debit_for(PRICE, RATE)
    assert debit == 4422
    attempt.refresh_from_db()
    assert (attempt.debit_amount, attempt.debit_asset_code, attempt.debit_asset_scale) == (debit, "USD", 2)
    assert (attempt.receive_amount, attempt.receive_asset_code, attempt.receive_asset_scale) == (
        PRICE,
        "EUR",
        2,
    )
    assert attempt.received_amount == PRICE

    # and exactly that moved: the debit out of the funder's wallet, 40.00 EUR into the provider's
    assert stack.wallet.balance("fiona") == FUNDER_BALANCE - debit
    assert stack.wallet.balance("paula") == PRICE
    assert stack.wallet.balance("pavel") == 0
    assert len(stack.wallet.payments("fiona")["outgoingPayments"]) == 1

    # and the API's status document shows both amounts
    document = payment_status(funder, job)
    assert (document["status"], document["success"], document["error"]) == ("succeeded", True, None)
    assert document["amount"] == {
        "value": str(debit),
        "assetCode": "USD",
        "assetScale": 2,
        "formatted": format_amount(debit, "USD", 2),
    }
    assert document["receiveAmount"] == {
        "value": str(PRICE),
        "assetCode": "EUR",
        "assetScale": 2,
        "formatted": format_amount(PRICE, "EUR", 2),
    }

    # and so does the funder's receipt
    receipt = funder.get(reverse("receipt", kwargs={"job_id": job.pk})).content.decode()
    assert f"<dt>You paid</dt><dd>{format_amount(debit, 'USD', 2)}</dd>" in receipt
    assert f"received</dt><dd>{format_amount(PRICE, 'EUR', 2)}</dd>" in receipt
    assert "<dt>Exchange rate</dt><dd>1 USD = 0.9046 EUR <span" in receipt
