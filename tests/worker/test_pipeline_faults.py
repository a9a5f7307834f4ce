"""The pipeline under crashes, upstream errors, lost responses and expiries: every attempt ends right."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client

from jobs.models import AttemptStatus, Job, PaymentAttempt
from tests import services
from tests.worker.conftest import FUNDER_BALANCE, Stack, job_with_quote
from tests.worker.test_pipeline_flow import consent, wait_for_status

pytestmark = [pytest.mark.redis, pytest.mark.slow]

# Short limits so a crashed worker's lease and unacknowledged message come back within the test.
FAST_RECOVERY = {
    "CELERY_VISIBILITY_TIMEOUT": "4",
    "CELERY_TASK_SOFT_TIME_LIMIT": "4",
    "CELERY_TASK_TIME_LIMIT": "5",
    "PAYMENT_LEASE_SECONDS": "6",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
}


def approve(job: Job) -> tuple[Client, PaymentAttempt]:
    """The funder approves the job's quote in a browser; the attempt it created."""
    browser = Client()
    browser.force_login(job.funder)
    quote = job.quotes.get()
    browser.post(f"/jobs/{job.pk}/quotes/{quote.pk}/approve")
    return browser, PaymentAttempt.objects.get(job=job)


def come_back(browser: Client, attempt: PaymentAttempt) -> None:
    """Consents in the wallet and follows the wallet's redirect to our finish callback."""
    finish = urlsplit(consent(attempt.payment_url))
    assert browser.get(f"{finish.path}?{finish.query}").status_code == 302


def assert_paid_once(stack: Stack, job: Job, amount: int) -> None:
    """The job is paid, the receiver got the amount once, and the funder paid it once."""
    job.refresh_from_db()
    assert job.status == Job.Status.PAID
    assert len(stack.wallet.payments("fiona")["outgoingPayments"]) == 1
    incoming = stack.wallet.payments("pavel")["incomingPayments"]
    assert [(p["completed"], p["receivedAmount"]["value"]) for p in incoming] == [(True, str(amount))]
    assert stack.wallet.balance("fiona") == FUNDER_BALANCE - amount


@contextmanager
def crash_once(stack: Stack, point: str, tmp_path: Path, threads: int = 0) -> Iterator[Path]:
    """A worker (prefork, or with `threads` threads) armed to crash (its whole process group) the first
    time it reaches `point`."""
    marker = tmp_path / f"crashed-{point}"
    with stack.worker(
        wait_ready=False,
        threads=threads,
        PIPELINE_FAILPOINT=point,
        PIPELINE_FAILPOINT_ONCE=str(marker),
        **FAST_RECOVERY,
    ) as worker:
        services.wait_until(lambda: worker.poll() is not None, 60, f"the worker to crash at {point}")
    yield marker


@pytest.mark.parametrize("threads", [0, 8], ids=["prefork", "threads"])
def test_a_worker_killed_right_after_creating_the_incoming_payment_leaves_one_incoming_payment(
    stack: Stack, tmp_path: Path, threads: int
) -> None:
    # given a worker (of either pool) that dies the moment the provider's incoming payment exists
    job, _ = job_with_quote(stack, amount=1250)
    browser, attempt = approve(job)
    with crash_once(stack, "incoming_payment.created", tmp_path, threads) as marker:
        assert marker.exists()
        assert PaymentAttempt.objects.get(pk=attempt.pk).incoming_payment_url == ""
        assert len(stack.wallet.payments("pavel")["incomingPayments"]) == 1

    # when a worker is started again
    with stack.worker(threads=threads, **FAST_RECOVERY):
        attempt = wait_for_status(attempt.pk, AttemptStatus.AWAITING_AUTHORIZATION)
        come_back(browser, attempt)
        wait_for_status(attempt.pk, AttemptStatus.SUCCEEDED)

    # then the redelivered task found the first incoming payment instead of creating a second
    assert len(stack.wallet.payments("pavel")["incomingPayments"]) == 1
    assert_paid_once(stack, job, 1250)


def test_an_upstream_500_on_quote_creation_is_retried_and_then_succeeds(stack: Stack) -> None:
    # given the funder's wallet fails the next two quote requests
    stack.wallet.faults({"routes": {"quotes.create": {"errorNext": 2, "errorStatus": 500}}})
    job, _ = job_with_quote(stack)
    stack.wallet.stats(reset=True)

    # when the funder approves
    with stack.worker():
        _, attempt = approve(job)
        attempt = wait_for_status(attempt.pk, AttemptStatus.AWAITING_AUTHORIZATION)

    # then the link is there, with one incoming payment behind it; each retry started from the incoming
    # payment the failed delivery stored as it let go (no look-up, no second create)
    assert attempt.payment_url.startswith(stack.wallet.base_url)
    assert attempt.error == ""
    assert len(stack.wallet.payments("pavel")["incomingPayments"]) == 1
    routes = stack.wallet.stats()["routes"]
    assert (routes["quotes.create"], routes["incoming-payments.create"]) == (3, 1)
    assert "incoming-payments.list" not in routes


def test_a_lost_outgoing_payment_response_leaves_exactly_one_payment(stack: Stack) -> None:
    # given the wallet commits the next outgoing payment but drops the connection before answering
    job, _ = job_with_quote(stack, amount=700)
    with stack.worker():
        browser, attempt = approve(job)
        attempt = wait_for_status(attempt.pk, AttemptStatus.AWAITING_AUTHORIZATION)
        stack.wallet.faults({"routes": {"outgoing-payments.create": {"dropNext": 1}}})

        # when the funder authorizes
        come_back(browser, attempt)
        wait_for_status(attempt.pk, AttemptStatus.SUCCEEDED)

    # then the retry found the payment by its idempotency id: one payment, paid once
    assert_paid_once(stack, job, 700)


@pytest.mark.wallet(wait=3)
def test_a_callback_before_the_continuation_wait_is_over_still_ends_paid(stack: Stack) -> None:
    # given a wallet that wants 3 s between the grant and its continuation
    job, _ = job_with_quote(stack, amount=300)
    with stack.worker():
        browser, attempt = approve(job)
        attempt = wait_for_status(attempt.pk, AttemptStatus.AWAITING_AUTHORIZATION)

        # when the funder comes back at once
        come_back(browser, attempt)

        # then the continuation waits for its turn and the job is paid
        wait_for_status(attempt.pk, AttemptStatus.SUCCEEDED)
    assert_paid_once(stack, job, 300)


@pytest.mark.wallet(token_lifetime=2, settle_delay=5)
def test_tokens_expiring_while_the_payment_settles_are_rotated_and_the_job_ends_paid(stack: Stack) -> None:
    # given tokens that live 2 s and a payment that takes 5 s to settle
    job, _ = job_with_quote(stack, amount=400)
    with stack.worker():
        browser, attempt = approve(job)
        attempt = wait_for_status(attempt.pk, AttemptStatus.AWAITING_AUTHORIZATION)

        # when the funder authorizes and the polling outlives the tokens
        come_back(browser, attempt)
        paid = wait_for_status(attempt.pk, AttemptStatus.SUCCEEDED)

    # then the tokens were rotated (new values) and the job is paid once
    assert paid.access_token != "" and paid.polls >= 1
    assert_paid_once(stack, job, 400)


def test_a_quote_that_expired_before_the_callback_is_replaced_and_the_job_ends_paid(stack: Stack) -> None:
    # given a link whose quote expires while the funder is in the wallet
    job, _ = job_with_quote(stack, amount=500)
    with stack.worker():
        browser, attempt = approve(job)
        attempt = wait_for_status(attempt.pk, AttemptStatus.AWAITING_AUTHORIZATION)
        stack.wallet.advance_clock(301)

        # when the funder authorizes
        come_back(browser, attempt)
        paid = wait_for_status(attempt.pk, AttemptStatus.SUCCEEDED)

    # then a new quote was paid instead of the expired one, once
    assert paid.op_quote_url != attempt.op_quote_url
    assert_paid_once(stack, job, 500)


def test_the_reconciler_alone_completes_a_payment_whose_polling_message_was_lost(
    stack: Stack, tmp_path: Path
) -> None:
    # given a payment in processing whose poll message dies with its worker (and is not redelivered soon)
    job, _ = job_with_quote(stack, amount=900)
    with stack.worker():
        browser, attempt = approve(job)
        attempt = wait_for_status(attempt.pk, AttemptStatus.AWAITING_AUTHORIZATION)
    come_back(browser, attempt)
    with crash_once(stack, "poll.before", tmp_path):
        pass
    assert PaymentAttempt.objects.get(pk=attempt.pk).status == AttemptStatus.PROCESSING

    # when only beat and a fresh worker run
    beat_env = {**stack.env, "RECONCILE_EVERY_SECONDS": "1", "PAYMENT_STALE_SECONDS": "2"}
    with (
        stack.worker(PAYMENT_STALE_SECONDS="2"),
        services.celery_beat(
            database=services.database_url(connection.settings_dict),
            queue=stack.queue,
            log=tmp_path / "beat.log",
            extra_env=beat_env,
        ),
    ):
        # then the reconciler re-drives the poll and the job ends paid
        wait_for_status(attempt.pk, AttemptStatus.SUCCEEDED, timeout=90)
    assert_paid_once(stack, job, 900)


def test_twenty_waits_then_a_503_still_end_paid_and_the_503_gets_the_first_backoff_step(
    stack: Stack,
) -> None:
    # given a wallet that answers the grant continuation `too_fast` 20 times, then fails the outgoing
    # payment once with a 503, and a worker whose waits are short
    job, _ = job_with_quote(stack, amount=400)
    with stack.worker(PAYMENT_MIN_WAIT_MS="20"):
        browser, attempt = approve(job)
        attempt = wait_for_status(attempt.pk, AttemptStatus.AWAITING_AUTHORIZATION)
        stack.wallet.faults(
            {
                "routes": {
                    "grant.continue": {"tooFastNext": 20},
                    "outgoing-payments.create": {"errorNext": 1, "errorStatus": 503},
                }
            }
        )

        # when the funder authorizes
        come_back(browser, attempt)

        # then the job is paid once: twenty waits spent none of the failure budget
        wait_for_status(attempt.pk, AttemptStatus.SUCCEEDED)
    assert_paid_once(stack, job, 400)
    assert stack.wallet.faults()["injected"] == {
        "grant.continue": {"error": 0, "drop": 0, "too_fast": 20},
        "outgoing-payments.create": {"error": 1, "drop": 0},
    }
    # and the retry after the 503 waited the first backoff step (0.5-1 s), counted as failure 1
    log = max(stack.log_dir.glob("worker-*.log"), key=lambda path: path.stat().st_mtime)
    retries = [line for line in log.read_text().splitlines() if "transient failure" in line]
    assert len(retries) == 1
    assert "transient failure 1 of 8" in retries[0]
    countdown = float(retries[0].split("retrying in ")[1].split("s:")[0])
    assert 0.5 <= countdown <= 1.0
