"""The whole payment, end to end on the real stack: approve → link → consent → callback → paid."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client

from jobs.models import AttemptStatus, Job, PaymentAttempt, Quote
from tests.services import wait_until
from tests.worker.conftest import FUNDER_BALANCE, Stack, job_with_quote

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def status_of(attempt_id: object) -> str:
    return PaymentAttempt.objects.values_list("status", flat=True).get(pk=attempt_id)


def wait_for_status(attempt_id: object, status: str, timeout: float = 60) -> PaymentAttempt:
    """Waits until the attempt reaches `status`; fails early, naming it, if it ends elsewhere."""

    def reached() -> bool:
        current = status_of(attempt_id)
        assert current == status or current not in {"failed", "declined", "expired", "cancelled"}, (
            PaymentAttempt.objects.get(pk=attempt_id).error
        )
        return current == status

    wait_until(reached, timeout, f"attempt {attempt_id} to be {status}")
    return PaymentAttempt.objects.get(pk=attempt_id)


def consent(payment_url: str) -> str:
    """Visits the wallet's consent link (auto-accepting) and answers the finish URL it redirects to."""
    response = httpx.get(payment_url, follow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith("http://testserver/payments/finish/")
    return location


def approve_before_any_worker(stack: Stack, job: Job, quote: Quote) -> tuple[Client, PaymentAttempt]:
    """The funder approves while no worker runs: the request itself must not call any wallet."""
    browser = Client()
    browser.force_login(job.funder)
    response = browser.post(f"/jobs/{job.pk}/quotes/{quote.pk}/approve")
    assert response.status_code == 302
    attempt = PaymentAttempt.objects.get(job=job)
    assert (attempt.status, attempt.incoming_payment_url, attempt.payment_url) == ("generating", "", "")
    assert stack.wallet.payments("pavel")["incomingPayments"] == []
    return browser, attempt


@pytest.mark.parametrize("threads", [0, 8], ids=["prefork", "threads"])
def test_a_quote_is_paid_end_to_end_and_the_funder_is_debited_once(stack: Stack, threads: int) -> None:
    # given a funder and a provider on the local wallet
    job, quote = job_with_quote(stack, amount=1250)

    # when the funder approves (answered without any Open Payments call) and a worker (of either pool) runs
    browser, attempt = approve_before_any_worker(stack, job, quote)
    with stack.worker(threads=threads):
        # then the worker produces the wallet's consent link
        attempt = wait_for_status(attempt.pk, AttemptStatus.AWAITING_AUTHORIZATION)
        assert (attempt.incoming_amount, attempt.debit_amount, attempt.receive_amount) == (1250, 1250, 1250)

        # when the funder consents and the wallet sends the browser back to the callback
        finish = consent(attempt.payment_url)
        parts = urlsplit(finish)
        back = browser.get(f"{parts.path}?{parts.query}")

        # then the job becomes paid
        assert back.status_code == 302
        attempt = wait_for_status(attempt.pk, AttemptStatus.SUCCEEDED)

    job.refresh_from_db()
    assert job.status == Job.Status.PAID
    assert attempt.received_amount == 1250
    assert attempt.outgoing_payment_url.startswith(stack.wallet.resource_server)
    ledger = stack.wallet.payments("fiona")
    assert len(ledger["outgoingPayments"]) == 1
    assert stack.wallet.balance("fiona") == FUNDER_BALANCE - 1250
    incoming = stack.wallet.payments("pavel")["incomingPayments"]
    assert [(p["completed"], p["receivedAmount"]["value"]) for p in incoming] == [(True, "1250")]
    assert_logs_are_structured_and_secret_free(stack, attempt)


def assert_logs_are_structured_and_secret_free(stack: Stack, attempt: PaymentAttempt) -> None:
    """Every pipeline log line of the worker is JSON naming the job and attempt; no secret is in any line."""
    lines = [line for log in stack.log_dir.glob("worker-*.log") for line in log.read_text().splitlines()]
    pipeline = [json.loads(line) for line in lines if '"logger": "worker.' in line]
    assert {entry["message"] for entry in pipeline} >= {
        "payment link ready",
        "outgoing payment created",
        "job paid",
    }
    assert {(entry["job_id"], entry["attempt_id"]) for entry in pipeline} == {
        (attempt.job_id, str(attempt.pk))
    }
    secrets = [attempt.access_token, attempt.continue_token, attempt.incoming_token, attempt.client_nonce]
    text = "\n".join(lines)
    assert [secret for secret in secrets if secret and secret in text] == []


@pytest.mark.wallet(auto_consent=None)
def test_the_payment_link_is_the_wallets_consent_page_for_exactly_the_quoted_amount(stack: Stack) -> None:
    # given a wallet where a person consents, and a worker
    job, quote = job_with_quote(stack, amount=4321)

    # when the funder approves and a worker runs
    _, attempt = approve_before_any_worker(stack, job, quote)
    with stack.worker():
        attempt = wait_for_status(attempt.pk, AttemptStatus.AWAITING_AUTHORIZATION)

    # then the stored link, fetched, is the consent page naming us and the amount
    page = httpx.get(attempt.payment_url, follow_redirects=True, timeout=10)
    assert page.status_code == 200
    assert "Marketplace" in page.text
    assert "43.21" in page.text and "USD" in page.text
    assert stack.wallet.payments("fiona")["outgoingPayments"] == []
