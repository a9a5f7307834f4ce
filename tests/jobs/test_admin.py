"""Admin pages: every model is listed and filterable; payment attempts and budgets are read-only and hide
secrets."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.urls import reverse

from jobs import services
from jobs.models import AttemptStatus, Budget, Job
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", f.PASSWORD))
    return client


@pytest.fixture
def paid():
    quote = f.quote(f.job(f.funder()), f.provider())
    return f.attempt(quote, AttemptStatus.SUCCEEDED)


# A budget's grant as its wallet gave it: none of it may show on an admin page.
BUDGET_SECRETS = {
    "client_nonce": "SECRET-client-nonce-1",
    "interact_nonce": "SECRET-interact-nonce-2",
    "consent_url": "https://auth.wallet.example/interact/SECRET-consent-3",
    "continue_uri": "https://auth.wallet.example/continue/SECRET-continue-4",
    "continue_token": "SECRET-continue-token-5",
    "interact_ref": "SECRET-interact-ref-6",
    "access_token": "SECRET-access-token-7",
    "access_token_manage": "https://auth.wallet.example/token/SECRET-manage-8",
}


@pytest.fixture
def budget(paid):
    return Budget.objects.create(
        funder=paid.job.funder,
        status=Budget.Status.ACTIVE,
        sender_wallet="https://wallet.example/fiona",
        amount_value=10000,
        asset_code="USD",
        asset_scale=2,
        interval=Budget.Interval.MONTH,
        per_job_limit=5000,
        spent_value=1234,
        **BUDGET_SECRETS,
    )


@pytest.mark.parametrize(
    "model", ["profile", "job", "quote", "paymentattempt", "refund", "apitoken", "budget"]
)
def test_every_model_has_a_list_page(admin_client, paid, budget, model):
    # given
    services.api_token_create(user=paid.job.funder, name="ci")
    # when
    response = admin_client.get(reverse(f"admin:jobs_{model}_changelist"))
    # then
    assert response.status_code == 200


def test_attempts_are_filtered_by_status(admin_client, paid):
    # given
    declined = f.attempt(paid.quote, AttemptStatus.DECLINED)
    # when
    response = admin_client.get(
        reverse("admin:jobs_paymentattempt_changelist"), {"status__exact": "declined"}
    )
    # then
    html = response.content.decode()
    assert str(declined.pk) in html
    assert str(paid.pk) not in html


def test_an_attempt_page_is_read_only_and_shows_no_secret(admin_client, paid):
    # when
    response = admin_client.get(reverse("admin:jobs_paymentattempt_change", args=[paid.pk]))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "https://wallet.example/outgoing-payments/out-1" in html
    assert "SECRET-" not in html
    for field in ("incoming_token", "continue_token", "access_token", "client_nonce", "interact_nonce"):
        assert f'name="{field}"' not in html
        assert f'field-{field}"' not in html
    assert 'type="submit"' not in html.split('id="paymentattempt_form"', 1)[-1]


def test_a_budget_page_is_read_only_and_shows_no_secret(admin_client, budget):
    # when
    listing = admin_client.get(reverse("admin:jobs_budget_changelist"))
    page = admin_client.get(reverse("admin:jobs_budget_change", args=[budget.pk]))
    searched = admin_client.get(reverse("admin:jobs_budget_changelist"), {"q": "SECRET-access-token-7"})
    # then the budget shows, with none of its grant, and nothing to save
    html = page.content.decode()
    assert (listing.status_code, page.status_code) == (200, 200)
    assert str(budget.pk) in listing.content.decode()
    assert "https://wallet.example/fiona" in html
    assert "1234" in html
    for response in (listing, page):
        assert "SECRET" not in response.content.decode()
    for field in BUDGET_SECRETS:
        assert f'name="{field}"' not in html
        assert f'field-{field}"' not in html and f"field-{field} " not in html
    assert 'name="_save"' not in html
    assert searched.context["cl"].result_count == 0  # nor is a budget found by its token


def test_a_budget_whose_tokens_no_key_opens_still_shows(admin_client, budget, settings):
    # given the key its tokens were sealed under dropped (too early)
    settings.SEALING_KEYS = [Fernet.generate_key().decode()]
    # when
    listing = admin_client.get(reverse("admin:jobs_budget_changelist"))
    page = admin_client.get(reverse("admin:jobs_budget_change", args=[budget.pk]))
    # then
    assert (listing.status_code, page.status_code) == (200, 200)


def test_budgets_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, budget):
    # when
    add = admin_client.get(reverse("admin:jobs_budget_add"))
    change = admin_client.post(
        reverse("admin:jobs_budget_change", args=[budget.pk]), {"status": "ended", "amount_value": 1}
    )
    delete = admin_client.post(reverse("admin:jobs_budget_delete", args=[budget.pk]), {"post": "yes"})
    # then
    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert Budget.objects.values_list("status", "amount_value").get() == (Budget.Status.ACTIVE, 10000)


def test_attempts_cannot_be_added_or_deleted_in_the_admin(admin_client, paid):
    # when
    add = admin_client.get(reverse("admin:jobs_paymentattempt_add"))
    delete = admin_client.post(reverse("admin:jobs_paymentattempt_delete", args=[paid.pk]), {"post": "yes"})
    # then
    assert (add.status_code, delete.status_code) == (403, 403)
    assert paid.job.attempts.count() == 1


def test_an_api_token_page_shows_neither_key_nor_hash(admin_client, paid):
    # given
    issued = services.api_token_create(user=paid.job.funder, name="ci")
    # when
    listing = admin_client.get(reverse("admin:jobs_apitoken_changelist")).content.decode()
    page = admin_client.get(reverse("admin:jobs_apitoken_change", args=[issued.token.pk])).content.decode()
    # then
    for html in (listing, page):
        assert issued.key not in html
        assert issued.token.key_hash not in html
    assert "ci" in listing


def test_job_and_quote_pages_open(admin_client, paid):
    # when
    job = admin_client.get(reverse("admin:jobs_job_change", args=[paid.job_id]))
    quote = admin_client.get(reverse("admin:jobs_quote_change", args=[paid.quote_id]))
    profile = admin_client.get(reverse("admin:jobs_profile_change", args=[paid.job.funder.profile.pk]))
    # then
    assert (job.status_code, quote.status_code, profile.status_code) == (200, 200, 200)


def test_refunds_and_a_jobs_totals_are_read_only(admin_client, paid):
    # given a paid job with a refund asked for
    Job.objects.filter(pk=paid.job_id).update(status=Job.Status.PAID, paid_amount=1250)
    refund = services.refund_request(job_id=paid.job_id, funder=paid.job.funder, amount=500, reason="Late.")
    # when staff open the refund and try to change the job's totals
    page = admin_client.get(reverse("admin:jobs_refund_change", args=[refund.pk]))
    posted = admin_client.post(
        reverse("admin:jobs_job_change", args=[paid.job_id]),
        {"title": "Renamed", "description": "", "funder": paid.job.funder_id, "paid_amount": 99999,
         "refunds_committed": 0, "refunded_amount": 99999, "quotes-TOTAL_FORMS": 1, "quotes-INITIAL_FORMS": 1,
         "quotes-0-id": paid.quote_id, "quotes-0-job": paid.job_id},
    )  # fmt: skip
    # then the refund shows with no way to save it, and only the title changed
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(reverse("admin:jobs_refund_add")).status_code == 403
    assert posted.status_code == 302
    job = Job.objects.get(pk=paid.job_id)
    assert (job.title, job.paid_amount, job.refunds_committed, job.refunded_amount) == (
        "Renamed",
        1250,
        500,
        0,
    )
