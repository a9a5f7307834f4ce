"""The exchange rate moves between the funder's quote and their consent (40.00 EUR paid from a USD wallet,
on the real stack): a quote still valid holds its price; an expired one is quoted again, and paid only
when the new debit is not above the one the funder approved."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from jobs.models import AttemptStatus, Job, PaymentAttempt
from jobs.money import format_amount
from tests.worker.conftest import FUNDER_BALANCE, Stack
from tests.worker.cross_currency import PRICE, RATE, WALLET, debit_for, eur_job_with_quote
from tests.worker.test_pipeline_flow import consent, wait_for_status
from tests.worker.test_revoke_grant import grant_of
from worker import pipeline

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.wallet(**WALLET)]


def consented(stack: Stack) -> tuple[Client, PaymentAttempt, str]:
    """The funder approved the 40.00 EUR quote and consented in their wallet, which is about to send them
    back: their browser, the attempt awaiting that, and the finish address."""
    job, quote = eur_job_with_quote(stack)
    browser = Client()
    browser.force_login(job.funder)
    browser.post(reverse("quote-approve", kwargs={"job_id": job.pk, "quote_id": quote.pk}))
    attempt = wait_for_status(PaymentAttempt.objects.get(job=job).pk, AttemptStatus.AWAITING_AUTHORIZATION)
    finish = urlsplit(consent(attempt.payment_url))
    return browser, attempt, f"{finish.path}?{finish.query}"


def rate_moves(stack: Stack, rate: str, *, quote_expires: bool) -> None:
    """The wallet's USD:EUR rate becomes `rate`, and with `quote_expires` its clock passes the quote's
    expiry."""
    stack.wallet.settings(rates={"USD:EUR": rate})
    if quote_expires:
        stack.wallet.advance_clock(stack.wallet.settings()["quoteLifespanSeconds"] + 1)


def payment_status(browser: Client, job: Job) -> dict[str, object]:
    """The job's payment status document, as the browser's user reads it."""
    response = browser.get(reverse("api-job-payment", kwargs={"job_id": job.pk}))
    assert response.status_code == 200
    document: dict[str, object] = response.json()
    return document


def debited(debit: int) -> dict[str, object]:
    """The status document's `amount` for a debit of `debit` US cents."""
    return {
        "value": str(debit),
        "assetCode": "USD",
        "assetScale": 2,
        "formatted": format_amount(debit, "USD", 2),
    }


def test_a_rate_that_moves_while_the_quote_is_valid_changes_nothing(stack: Stack) -> None:
    # given a funder who consented to pay 44.22 USD for 40.00 EUR
    approved = debit_for(PRICE, RATE)
    with stack.worker():
        browser, attempt, finish = consented(stack)
        assert attempt.debit_amount == approved == 4422

        # when the rate falls before the wallet sends them back, but the quote has not expired
        rate_moves(stack, "0.80", quote_expires=False)
        assert browser.get(finish).status_code == 302
        paid = wait_for_status(attempt.pk, AttemptStatus.SUCCEEDED)

    # then the quote they approved was paid, once, at its price
    assert len(stack.wallet.payments("fiona")["outgoingPayments"]) == 1
    assert (paid.op_quote_url, paid.debit_amount, paid.received_amount) == (
        attempt.op_quote_url,
        approved,
        PRICE,
    )
    assert (stack.wallet.balance("fiona"), stack.wallet.balance("paula")) == (
        FUNDER_BALANCE - approved,
        PRICE,
    )


def test_a_rate_that_moved_against_the_funder_after_the_quote_expired_pays_nothing(stack: Stack) -> None:
    # given a funder who consented to pay 44.22 USD for 40.00 EUR
    approved = debit_for(PRICE, RATE)
    with stack.worker():
        browser, attempt, finish = consented(stack)

        # when the quote expires and the rate falls to 0.90 (45.20 USD) before the wallet sends them back
        rate_moves(stack, "0.90", quote_expires=True)
        assert debit_for(PRICE, "0.90") == 4520
        assert browser.get(finish).status_code == 302
        failed = wait_for_status(attempt.pk, AttemptStatus.FAILED)

    # then the attempt ended with the price changed, its grant revoked, and no money moved
    assert (failed.error, failed.error_code) == (pipeline.PRICE_CHANGED, "price_changed")
    assert failed.grant_revoked_at is not None
    assert grant_of(stack, failed)["finalization"] == "revoked"
    assert stack.wallet.payments("fiona")["outgoingPayments"] == []
    assert (stack.wallet.balance("fiona"), stack.wallet.balance("paula")) == (FUNDER_BALANCE, 0)
    assert failed.job.status == Job.Status.OPEN

    # and the status document tells the funder, with the debit they approved
    document = payment_status(browser, failed.job)
    assert (document["status"], document["success"], document["error"]) == (
        "failed",
        False,
        pipeline.PRICE_CHANGED,
    )
    assert document["amount"] == debited(approved)


def test_a_rate_that_moved_for_the_funder_after_the_quote_expired_pays_the_new_lower_debit(
    stack: Stack,
) -> None:
    # given a funder who consented to pay 44.22 USD for 40.00 EUR
    approved = debit_for(PRICE, RATE)
    with stack.worker():
        browser, attempt, finish = consented(stack)

        # when the quote expires and the rate rises to 0.95 (42.84 USD) before the wallet sends them back
        rate_moves(stack, "0.95", quote_expires=True)
        assert browser.get(finish).status_code == 302
        paid = wait_for_status(attempt.pk, AttemptStatus.SUCCEEDED)

    # then a new quote was paid, at its lower debit, for exactly 40.00 EUR
    lower = debit_for(PRICE, "0.95")
    assert lower == 4284
    assert paid.op_quote_url != attempt.op_quote_url
    assert (paid.debit_amount, paid.debit_asset_code, paid.receive_amount, paid.received_amount) == (
        lower,
        "USD",
        PRICE,
        PRICE,
    )
    assert (stack.wallet.balance("fiona"), stack.wallet.balance("paula")) == (FUNDER_BALANCE - lower, PRICE)
    (payment,) = stack.wallet.payments("fiona")["outgoingPayments"]
    assert payment["debitAmount"]["value"] == str(lower)

    # and the status document and the receipt show what was actually debited
    document = payment_status(browser, paid.job)
    assert (document["status"], document["amount"]) == ("succeeded", debited(lower))
    receipt = browser.get(reverse("receipt", kwargs={"job_id": paid.job_id})).content.decode()
    assert format_amount(lower, "USD", 2) in receipt
    assert format_amount(PRICE, "EUR", 2) in receipt
    assert format_amount(approved, "USD", 2) not in receipt
