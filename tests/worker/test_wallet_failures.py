"""What a funder is told when their wallet fails the outgoing payment, and what they can do about it: on
the real stack, a balance too low when the payment settles (the local wallet settles all or nothing);
apart from it, the words for a payment stopped part-way."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from jobs.models import AttemptStatus, Job, PaymentAttempt
from payments import Amount
from tests.jobs import factories as f
from tests.worker.conftest import FUNDER_BALANCE, Stack, job_with_quote
from tests.worker.test_pipeline_flow import consent, wait_for_status
from worker import pipeline

HTMX = {"HX-Request": "true"}
PRICE = 1250  # the provider's quote, 12.50 USD; the same wallet and asset, so also the funder's debit
SHORT = 1000  # what is left in the funder's wallet when the payment settles: 10.00 USD


def finish_path(location: str) -> str:
    """The path and query of the wallet's finish redirect, for the funder's browser."""
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def refused(stack: Stack) -> tuple[Client, PaymentAttempt]:
    """The funder approved the 12.50 USD quote and consented, then their balance fell to 10.00 USD before
    the wallet sent them back (so before the outgoing payment was made and settled): their browser and
    the attempt, once it failed."""
    job, quote = job_with_quote(stack, amount=PRICE)
    browser = f.logged_in(job.funder)
    approve = reverse("quote-approve", kwargs={"job_id": job.pk, "quote_id": quote.pk})
    assert browser.post(approve).status_code == 302
    attempt = wait_for_status(PaymentAttempt.objects.get(job=job).pk, AttemptStatus.AWAITING_AUTHORIZATION)
    finish = consent(attempt.payment_url)
    stack.wallet.set_balance("fiona", SHORT)
    assert browser.get(finish_path(finish)).status_code == 302
    return browser, wait_for_status(attempt.pk, AttemptStatus.FAILED)


def payment_panel(browser: Client, job: Job) -> str:
    """The job's payment panel as htmx asks for it."""
    response = browser.get(reverse("payment-panel", kwargs={"job_id": job.pk}), headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


def form_action(html: str) -> str:
    """Where the panel's only form posts to."""
    actions: list[str] = re.findall(r'<form method="post" action="([^"]+)">', html)
    (action,) = actions
    return action


@pytest.mark.redis
@pytest.mark.slow
def test_a_balance_too_low_when_the_payment_settles_fails_it_and_offers_a_new_link(stack: Stack) -> None:
    # given a funder whose balance fell below the debit after they consented to pay 12.50 USD
    with stack.worker():
        # when the wallet settles the payment and fails it
        browser, failed = refused(stack)

    # then the attempt failed with nothing sent, saying what wallets refuse for and what to do
    message = pipeline.WALLET_REFUSED.format(debit="$12.50")
    assert message == (
        "Your wallet refused to send $12.50 and nothing left your wallet. Wallets do this when the balance "
        "is too low or a spending limit is reached: check your wallet, then get a new link."
    )
    assert (failed.status, failed.error_code, failed.error, failed.sent_amount, failed.debit_amount) == (
        "failed",
        "wallet_refused",
        message,
        0,
        PRICE,
    )
    assert failed.received_amount is None

    # and no money moved: the wallet failed its one payment for the balance, and the job is still open
    (payment,) = stack.wallet.payments("fiona")["outgoingPayments"]
    assert (payment["state"], payment["failure"], payment["failed"], payment["sentAmount"]["value"]) == (
        "failed",
        "insufficient balance",
        True,
        "0",
    )
    assert (stack.wallet.balance("fiona"), stack.wallet.balance("pavel")) == (SHORT, 0)
    job = Job.objects.get(pk=failed.job_id)
    assert (job.status, job.paid_amount) == (Job.Status.OPEN, None)

    # and the funder's panel tells them so, with one action: a new link for the same quote
    html = payment_panel(browser, job)
    assert (
        '<p class="panel-status panel-status-problem" role="status" aria-live="polite">Payment failed</p>'
        in html
    )
    assert f'<p class="panel-error">{escape(message)}</p>' in html
    assert html.count("button-primary") == 1
    assert '<button type="submit" class="button button-primary button-block">Get a new link</button>' in html
    assert form_action(html) == reverse(
        "quote-approve", kwargs={"job_id": job.pk, "quote_id": failed.quote_id}
    )
    assert "hx-trigger" not in html


@pytest.mark.redis
@pytest.mark.slow
def test_after_a_top_up_a_new_link_pays_the_job(stack: Stack) -> None:
    # given a payment the funder's wallet refused for a low balance
    with stack.worker():
        browser, failed = refused(stack)
        action = form_action(payment_panel(browser, Job.objects.get(pk=failed.job_id)))

        # when they top up their wallet, get a new link from the panel and consent again
        stack.wallet.set_balance("fiona", FUNDER_BALANCE)
        assert browser.post(action).status_code == 302
        retry = PaymentAttempt.objects.exclude(pk=failed.pk).get(job_id=failed.job_id)
        retry = wait_for_status(retry.pk, AttemptStatus.AWAITING_AUTHORIZATION)
        assert browser.get(finish_path(consent(retry.payment_url))).status_code == 302
        paid = wait_for_status(retry.pk, AttemptStatus.SUCCEEDED)

    # then the new attempt paid the same quote once, and the refused one stays as it was
    assert (paid.quote_id, paid.debit_amount, paid.sent_amount, paid.received_amount) == (
        failed.quote_id,
        PRICE,
        PRICE,
        PRICE,
    )
    failed.refresh_from_db()
    assert (failed.status, failed.error_code, failed.sent_amount) == ("failed", "wallet_refused", 0)
    assert [p["state"] for p in stack.wallet.payments("fiona")["outgoingPayments"]] == ["failed", "completed"]
    assert (stack.wallet.balance("fiona"), stack.wallet.balance("pavel")) == (FUNDER_BALANCE - PRICE, PRICE)
    job = Job.objects.get(pk=failed.job_id)
    assert (job.status, job.paid_amount) == (Job.Status.PAID, PRICE)


@pytest.mark.django_db
def test_a_wallet_that_stopped_part_way_says_what_was_sent_and_not_to_pay_again() -> None:
    # given an attempt whose wallet quoted a 13.00 USD debit
    attempt = f.attempt(f.quote(f.job(f.funder()), f.provider()), AttemptStatus.PROCESSING)
    assert (attempt.debit_amount, attempt.debit_asset_code, attempt.debit_asset_scale) == (1300, "USD", 2)

    # when the wallet failed the payment after sending 5.00 USD of it
    error = pipeline.wallet_stopped(attempt, Amount(500, "USD", 2))

    # then the funder is told what was sent, and to check their wallet before paying again
    assert error == {
        "error": pipeline.WALLET_STOPPED.format(sent="$5.00", debit="$13.00"),
        "error_code": "wallet_stopped",
    }
    assert error["error"] == (
        "Your wallet stopped the payment after sending $5.00 of $13.00. Check your wallet's balance and "
        "limits before paying again: what was sent stays with the provider."
    )


@pytest.mark.django_db
def test_a_wallet_that_sent_nothing_says_a_new_link_can_pay() -> None:
    # given an attempt whose wallet quoted a 13.00 USD debit
    attempt = f.attempt(f.quote(f.job(f.funder()), f.provider()), AttemptStatus.PROCESSING)

    # when the wallet failed the payment before sending any of it
    error = pipeline.wallet_stopped(attempt, Amount(0, "USD", 2))

    # then the funder is told nothing left their wallet and to get a new link
    assert error == {"error": pipeline.WALLET_REFUSED.format(debit="$13.00"), "error_code": "wallet_refused"}
