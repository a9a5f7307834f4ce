"""Every state-changing POST refuses a request without the CSRF token, and changes nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from jobs.models import ApiToken, AttemptStatus, Job, PaymentAttempt, Profile, Quote
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[object, ...]:
    return (
        list(User.objects.values_list("username", "is_active").order_by("pk")),
        list(Profile.objects.values_list("is_funder", "is_provider", "wallet_id").order_by("pk")),
        list(Job.objects.values_list("title", "status").order_by("pk")),
        list(Quote.objects.values_list("amount_value").order_by("pk")),
        list(PaymentAttempt.objects.values_list("status").order_by("created_at")),
        ApiToken.objects.count(),
    )


@pytest.mark.parametrize(
    ("route", "data"),
    [
        ("signup", {"username": "new", "password1": f.PASSWORD, "password2": f.PASSWORD, "roles": "funder"}),
        ("login", {"username": "fiona", "password": f.PASSWORD}),
        ("logout", {}),
        ("profile", {"is_provider": "on", "wallet_address": ""}),
        ("job-create", {"title": "Another"}),
        ("quote-create", {"amount": "3.00"}),
        ("quote-approve", {}),
        ("attempt-cancel", {}),
        ("api-quote-approve", {}),
    ],
)
def test_posts_without_the_csrf_token_are_refused(tasks, route, data):
    # given
    funder, provider = f.funder("fiona"), f.provider("pavel", funder=True)
    job = f.job(funder)
    quote = f.quote(job, provider)
    attempt = f.attempt(quote, AttemptStatus.AWAITING_AUTHORIZATION)
    kwargs = {
        "quote-create": {"job_id": job.pk},
        "quote-approve": {"job_id": job.pk, "quote_id": quote.pk},
        "api-quote-approve": {"job_id": job.pk, "quote_id": quote.pk},
        "attempt-cancel": {"attempt_id": attempt.pk},
    }.get(route, {})
    client = f.logged_in(provider if route == "quote-create" else funder, csrf=True)
    before = snapshot()
    # when
    response = client.post(reverse(route, kwargs=kwargs), data)
    # then
    assert response.status_code == 403
    assert snapshot() == before
    f.assert_nothing_enqueued(tasks)
