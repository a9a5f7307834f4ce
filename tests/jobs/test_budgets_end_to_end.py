"""Budgets on the real stack (local wallet, Redis, a worker): the funder consents once to a monthly
limit, and approvals within it pay at once, without a link; over it, the link as usual, with the reason."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from jobs import services
from jobs.models import AttemptStatus, Budget, Job, PaymentAttempt, Quote
from marketplace.open_payments import open_payments_client
from tests.services import wait_until
from tests.worker.conftest import FUNDER_BALANCE, Stack, person, stack  # noqa: F401
from worker import budgets, tasks
from worker.budgets import continuation
from worker.tokens import BUDGET_GONE

pytestmark = [pytest.mark.redis, pytest.mark.slow]
MONTH = 31 * 24 * 3600


def budget_status(budget: Budget) -> str:
    return Budget.objects.values_list("status", flat=True).get(pk=budget.pk)


def attempt_status(attempt: PaymentAttempt) -> str:
    return PaymentAttempt.objects.values_list("status", flat=True).get(pk=attempt.pk)


def consent(funder: User, link: str) -> None:
    """The funder's wallet consents (the local wallet's auto-consent) and sends their browser back."""
    wallet = httpx.get(link, follow_redirects=False, timeout=10)
    finish = urlsplit(wallet.headers["location"])
    browser = Client()
    browser.force_login(funder)
    assert browser.get(f"{finish.path}?{finish.query}").status_code == 302


def set_budget(funder: User, amount: int) -> Budget:
    """The funder sets a monthly budget and consents to it once in their wallet."""
    budget = services.budget_create(funder=funder, amount=amount, interval="P1M", per_job_limit=None)
    tasks.request_budget_grant.delay(str(budget.pk))
    wait_until(lambda: budget_status(budget) == Budget.Status.AWAITING, 60, "the budget's link")
    budget.refresh_from_db()
    consent(funder, budget.consent_url)
    wait_until(lambda: budget_status(budget) == Budget.Status.ACTIVE, 60, "the budget to be active")
    return budget


def approve(funder: User, provider: User, amount: int, n: int) -> PaymentAttempt:
    """A new job with the provider's quote of `amount`, approved by the funder (the link task sent)."""
    job = Job.objects.create(funder=funder, title=f"Logo {n}", description="A logo.")
    quote = Quote.objects.create(
        job=job, provider=provider, amount_value=amount, asset_code="USD", asset_scale=2
    )
    attempt = services.job_quote_approve(job_id=job.pk, quote_id=quote.pk, funder=funder).attempt
    tasks.generate_link.delay(str(attempt.pk))
    return attempt


def test_a_monthly_budget_pays_within_its_limit_and_falls_back_over_it(stack: Stack) -> None:  # noqa: F811
    # given a funder with a $100.00 monthly budget
    funder = person("fiona", stack.wallet.wallet_url("fiona"), funder=True)
    provider = person("pavel", stack.wallet.wallet_url("pavel"), provider=True)
    # (incoming payments open for 40 days: the wallet's clock will be a month ahead of ours)
    stack.wallet.settings(incomingPaymentMaxExpirySeconds=60 * 24 * 3600)
    with stack.worker(threads=4, PAYMENT_INCOMING_PAYMENT_HOURS=str(40 * 24)):
        budget = set_budget(funder, 10000)

        # when three $30.00 quotes are approved
        paid = [approve(funder, provider, 3000, n) for n in range(3)]
        for attempt in paid:
            wait_until(lambda a=attempt: attempt_status(a) == AttemptStatus.SUCCEEDED, 60, "a budget payment")

        # then all three are paid with no consent page
        assert [
            (a.payment_url, a.budget_id, a.budget_fallback)
            for a in PaymentAttempt.objects.filter(pk__in=[p.pk for p in paid])
        ] == [("", budget.pk, "")] * 3
        assert (stack.wallet.balance("fiona"), stack.wallet.balance("pavel")) == (FUNDER_BALANCE - 9000, 9000)

        # when a fourth is approved, then it falls back to the link, saying why
        fourth = approve(funder, provider, 3000, 3)
        wait_until(lambda: attempt_status(fourth) == AttemptStatus.AWAITING_AUTHORIZATION, 60, "the link")
        fourth.refresh_from_db()
        assert fourth.budget_fallback == "Your budget has $10.00 left this month."
        assert stack.wallet.balance("fiona") == FUNDER_BALANCE - 9000

        # and the funder can still pay it the usual way, consenting in their wallet
        consent(funder, fourth.payment_url)
        wait_until(lambda: attempt_status(fourth) == AttemptStatus.SUCCEEDED, 60, "the linked payment")
        assert stack.wallet.balance("fiona") == FUNDER_BALANCE - 12000

        # when the wallet's clock moves to the next month, then a fifth pays at once
        stack.wallet.advance_clock(MONTH)
        fifth = approve(funder, provider, 3000, 4)
        wait_until(lambda: attempt_status(fifth) == AttemptStatus.SUCCEEDED, 60, "the next month's payment")
    fifth.refresh_from_db()
    assert (fifth.payment_url, fifth.budget_fallback) == ("", "")
    assert (stack.wallet.balance("fiona"), stack.wallet.balance("pavel")) == (FUNDER_BALANCE - 15000, 15000)
    assert budget_status(budget) == Budget.Status.ACTIVE


def test_a_budget_revoked_at_the_wallet_ends_and_the_approval_falls_back_to_the_link(
    stack: Stack,  # noqa: F811
) -> None:
    # given a funder whose active budget was then revoked in their wallet (not on the marketplace)
    funder = person("fiona", stack.wallet.wallet_url("fiona"), funder=True)
    provider = person("pavel", stack.wallet.wallet_url("pavel"), provider=True)
    with stack.worker():
        budget = set_budget(funder, 10000)
        budget.refresh_from_db()
        open_payments_client().grants.cancel(continuation(budget))

        # when they approve a quote
        attempt = approve(funder, provider, 3000, 0)
        wait_until(lambda: attempt_status(attempt) == AttemptStatus.AWAITING_AUTHORIZATION, 60, "the link")

    # then the budget ended saying why, the approval got a link with that reason, and nothing was paid
    attempt.refresh_from_db()
    budget.refresh_from_db()
    assert (budget.status, budget.end_reason) == (Budget.Status.ENDED, BUDGET_GONE)
    assert attempt.budget_fallback == BUDGET_GONE
    assert attempt.payment_url != ""
    assert stack.wallet.balance("fiona") == FUNDER_BALANCE

    # and its revocation, owed once it ended, counts a grant already gone as revoked
    budgets.revoke(str(budget.pk))
    budget.refresh_from_db()
    assert budget.grant_revoked_at is not None
