"""No page, API document or admin page ever contains a token, a nonce or an interact_ref."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from jobs import services
from jobs.models import AttemptStatus
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

SECRET_VALUES = (*f.SECRETS.values(), "SECRET-interact-ref-6666")


@pytest.mark.parametrize("status", [s for s, _ in AttemptStatus.choices])
def test_no_response_contains_a_secret(status, tasks):
    # given
    funder, provider = f.funder(), f.provider()
    job = f.job(funder)
    quote = f.quote(job, provider)
    attempt = f.attempt(quote, status, **f.SECRETS, interact_ref="SECRET-interact-ref-6666")
    admin = f.logged_in(User.objects.create_superuser("root", "root@example.com", f.PASSWORD))
    token = {"Authorization": f"Token {services.api_token_create(user=funder).key}"}
    responses = []
    for person in (funder, provider):
        client = f.logged_in(person)
        responses += [
            client.get(reverse("job-list")),
            client.get(reverse("job-detail", kwargs={"job_id": job.pk})),
            client.get(reverse("payment-panel", kwargs={"job_id": job.pk}), headers={"HX-Request": "true"}),
            client.get(reverse("receipt", kwargs={"job_id": job.pk})),
            client.get(reverse("api-job-payment", kwargs={"job_id": job.pk})),
        ]
    # when
    responses += [
        f.logged_in(funder).post(
            reverse("api-quote-approve", kwargs={"job_id": job.pk, "quote_id": quote.pk})
        ),
        f.logged_in(funder).get(reverse("api-job-payment", kwargs={"job_id": job.pk}), headers=token),
        admin.get(reverse("admin:jobs_paymentattempt_changelist")),
        admin.get(reverse("admin:jobs_paymentattempt_change", args=[attempt.pk])),
        admin.get(reverse("admin:jobs_job_change", args=[job.pk])),
    ]
    # then
    for response in responses:
        body = response.content.decode()
        for secret in SECRET_VALUES:
            assert secret not in body, (response.wsgi_request.path, secret)
        assert "SECRET-" not in str(response.headers)
