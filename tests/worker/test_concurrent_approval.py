"""Many simultaneous approvals of one job: one attempt, one incoming payment (PostgreSQL row locks)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import Client

from jobs.models import AttemptStatus, PaymentAttempt
from tests.services import require
from tests.worker.conftest import Stack, job_with_quote
from tests.worker.test_pipeline_flow import wait_for_status

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

CLICKS = 20


def test_twenty_concurrent_approvals_create_one_attempt_and_one_incoming_payment(stack: Stack) -> None:
    # given a job on PostgreSQL and twenty browsers of its funder ready to click at the same moment
    require(connection.vendor == "postgresql", "PostgreSQL", "set DATABASE_URL to a PostgreSQL database")
    job, quote = job_with_quote(stack)
    start = threading.Barrier(CLICKS)

    def click(_: int) -> int:
        browser = Client()
        browser.force_login(job.funder)
        start.wait()
        try:
            return browser.post(f"/jobs/{job.pk}/quotes/{quote.pk}/approve").status_code
        finally:
            connections.close_all()

    with stack.worker():
        # when they all approve
        with ThreadPoolExecutor(max_workers=CLICKS) as pool:
            statuses = list(pool.map(click, range(CLICKS)))

        # then every click is answered, one attempt exists, and its link is generated once
        assert statuses == [302] * CLICKS
        attempts = list(PaymentAttempt.objects.filter(job=job))
        assert len(attempts) == 1
        wait_for_status(attempts[0].pk, AttemptStatus.AWAITING_AUTHORIZATION)
    assert len(stack.wallet.payments("pavel")["incomingPayments"]) == 1
    assert len(stack.wallet.payments("fiona")["outgoingPayments"]) == 0
