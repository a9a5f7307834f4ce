"""Admin pages: every model is listed and filterable; payment attempts are read-only and hide secrets."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from jobs import services
from jobs.models import AttemptStatus
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


@pytest.mark.parametrize("model", ["profile", "job", "quote", "paymentattempt", "apitoken"])
def test_every_model_has_a_list_page(admin_client, paid, model):
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
