"""Wallets behind https with a CA of their own: a whole payment when the marketplace trusts that CA
(`OP_CA_BUNDLE`), and a plain, immediate failure when it does not."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client

from jobs.models import AttemptStatus, Job, PaymentAttempt
from tests.services import wait_until
from tests.worker.conftest import FUNDER_BALANCE, Stack, job_with_quote
from tests.worker.test_pipeline_flow import wait_for_status

pytestmark = [
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.wallet(tls=True, auto_consent="accept", wait=1),
]


def approve(job: Job) -> tuple[Client, PaymentAttempt]:
    """The funder approves the job's quote in their browser."""
    browser = Client()
    browser.force_login(job.funder)
    quote = job.quotes.get()
    assert browser.post(f"/jobs/{job.pk}/quotes/{quote.pk}/approve").status_code == 302
    return browser, PaymentAttempt.objects.get(job=job)


def worker_lines(stack: Stack) -> list[dict[str, object]]:
    """The JSON log lines of the stack's workers."""
    return [
        json.loads(line)
        for log in stack.log_dir.glob("worker-*.log")
        for line in log.read_text().splitlines()
        if line.startswith("{")
    ]


def test_a_whole_payment_goes_over_https_with_the_wallets_ca_trusted(stack: Stack) -> None:
    # given a wallet serving https only, with a certificate from its own CA, which the marketplace trusts
    assert stack.wallet.wallet_url("fiona").startswith("https://127.0.0.1:")
    assert stack.env["OP_CA_BUNDLE"] == str(stack.wallet.ca_file)
    job, _ = job_with_quote(stack, amount=1250)

    # when the funder approves, consents in the wallet and comes back
    browser, attempt = approve(job)
    with stack.worker():
        attempt = wait_for_status(attempt.pk, AttemptStatus.AWAITING_AUTHORIZATION)
        consent = httpx.get(
            attempt.payment_url, follow_redirects=False, timeout=10, verify=stack.wallet.verify
        )
        finish = urlsplit(consent.headers["location"])
        assert browser.get(f"{finish.path}?{finish.query}").status_code == 302

        # then the job is paid over https, exactly once, and the grant is revoked afterwards
        attempt = wait_for_status(attempt.pk, AttemptStatus.SUCCEEDED)
        wait_until(
            lambda: PaymentAttempt.objects.get(pk=attempt.pk).grant_revoked_at is not None,
            20,
            "the grant to be revoked",
        )

    assert attempt.outgoing_payment_url.startswith("https://127.0.0.1:")
    assert attempt.received_amount == 1250
    assert stack.wallet.balance("fiona") == FUNDER_BALANCE - 1250
    assert len(stack.wallet.payments("fiona")["outgoingPayments"]) == 1


def test_without_the_wallets_ca_the_attempt_ends_at_once_naming_the_certificate(stack: Stack) -> None:
    # given the same https wallet, and a worker that does not trust its CA
    job, _ = job_with_quote(stack, amount=1250)
    stack.wallet.stats(reset=True)

    # when the funder approves
    _, attempt = approve(job)
    with stack.worker(OP_CA_BUNDLE=""):
        wait_until(
            lambda: PaymentAttempt.objects.get(pk=attempt.pk).status == AttemptStatus.FAILED,
            30,
            "the attempt to fail",
        )

    # then the funder reads what is wrong without being told to retry, ops get the cause, and the wallet
    # never got a request (the handshake failed, and nothing was retried)
    attempt.refresh_from_db()
    assert attempt.error == (
        "The wallet at 127.0.0.1 uses a certificate this marketplace does not trust, so we did not connect."
        " Trying again will not help until it is fixed; the marketplace's operators can see this error."
    )
    assert attempt.error_code == "certificate"
    assert attempt.error_detail.startswith("TLS certificate not trusted: certificate verify failed")
    assert stack.wallet.stats()["requests"] == 0
    lines = worker_lines(stack)
    failed = [line for line in lines if line["message"].startswith("wallet unreachable, not retried")]
    assert [(line["level"], line["job_id"]) for line in failed] == [("ERROR", job.pk)]
    assert "certificate verify failed" in str(failed[0]["message"])
    assert [line for line in lines if str(line["message"]).startswith("transient failure")] == []

    # and the job stays open, nothing paid
    job.refresh_from_db()
    assert job.status == Job.Status.OPEN
    assert stack.wallet.payments("fiona")["outgoingPayments"] == []
