"""The pages a funder and ops refresh: their database queries do not grow with quotes, attempts or jobs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jobs.models import AttemptStatus, Job
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db


def queries(call: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert getattr(response, "status_code", 200) == 200
    return len(captured)


def job_with_history(funder, providers, failed_attempts: int) -> Job:  # type: ignore[no-untyped-def]
    """A job with a quote from each provider, `failed_attempts` ended attempts and a live link."""
    job = f.job(funder)
    quotes = [f.quote(job, provider) for provider in providers]
    for _ in range(failed_attempts):
        f.attempt(quotes[0], AttemptStatus.FAILED, error="The wallets did not answer.")
    f.attempt(quotes[-1], AttemptStatus.AWAITING_AUTHORIZATION)
    return job


@pytest.mark.parametrize(
    "path",
    ["/jobs/{job}", "/jobs/{job}/payment-panel", "/api/jobs/{job}/payment", "/jobs"],
)
def test_a_page_costs_the_same_queries_with_one_quote_or_five(path: str) -> None:
    # given a small job, and a job with five quotes, four earlier attempts and five more jobs beside it
    funder = f.funder()
    providers = [f.provider(f"pavel{n}") for n in range(5)]
    small = job_with_history(funder, providers[:1], failed_attempts=0)
    browser: Client = f.logged_in(funder)
    baseline = queries(lambda: browser.get(path.format(job=small.pk)))
    big = job_with_history(funder, providers, failed_attempts=4)
    for _ in range(5):
        job_with_history(funder, providers[:2], failed_attempts=1)

    # when the page of the big one is read
    count = queries(lambda: browser.get(path.format(job=big.pk)))

    # then it took the same number of queries
    assert count == baseline
