"""Approving a quote whose provider has since moved to a wallet of another asset is refused with that reason,
on the page and in the API, and starts no payment."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from jobs import services
from jobs.models import AttemptStatus, PaymentAttempt, Profile
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

NOW_EUR = "The provider's wallet now holds EUR, but their quote is in USD; ask them to quote again."
NOW_SCALE_9 = (
    "The provider's wallet now counts USD to 9 decimal places, but their quote counts 2; "
    "ask them to quote again."
)


@pytest.fixture
def deal():
    """A funder's job with a provider's quote of $12.50 (scale 2), made with their USD wallet."""
    funder, provider = f.funder(), f.provider()
    job = f.job(funder)
    return {"funder": funder, "provider": provider, "job": job, "quote": f.quote(job, provider)}


def move_wallet(provider, *, asset_code: str, asset_scale: int) -> None:  # type: ignore[no-untyped-def]
    url = f"https://other-wallet.example/{provider.username}"
    Profile.objects.filter(user=provider).update(
        wallet_address=url, wallet_id=url, asset_code=asset_code, asset_scale=asset_scale
    )


@pytest.mark.parametrize(
    ("asset_code", "asset_scale", "message"),
    [("EUR", 2, NOW_EUR), ("USD", 9, NOW_SCALE_9)],
    ids=["code", "scale"],
)
def test_the_page_refuses_to_pay_a_quote_in_an_asset_the_provider_no_longer_holds(
    deal, tasks, asset_code, asset_scale, message
):
    # given the provider changed their wallet after quoting
    move_wallet(deal["provider"], asset_code=asset_code, asset_scale=asset_scale)
    client = f.logged_in(deal["funder"])
    # when the funder approves the quote
    response = client.post(
        reverse("quote-approve", kwargs={"job_id": deal["job"].pk, "quote_id": deal["quote"].pk}), follow=True
    )
    # then they are told why, on the job page, and no payment started
    assert response.redirect_chain == [(f"/jobs/{deal['job'].pk}", 302)]
    assert [str(m) for m in response.context["messages"]] == [message]
    assert PaymentAttempt.objects.count() == 0
    f.assert_nothing_enqueued(tasks)


def test_the_api_refuses_to_pay_a_quote_in_an_asset_the_provider_no_longer_holds(deal, tasks):
    # given
    move_wallet(deal["provider"], asset_code="EUR", asset_scale=2)
    key = services.api_token_create(user=deal["funder"]).key
    # when
    response = Client().post(
        reverse("api-quote-approve", kwargs={"job_id": deal["job"].pk, "quote_id": deal["quote"].pk}),
        headers={"Authorization": f"Token {key}"},
    )
    # then
    assert (response.status_code, response.json()) == (403, {"error": NOW_EUR})
    assert PaymentAttempt.objects.count() == 0
    f.assert_nothing_enqueued(tasks)


def test_a_new_quote_in_the_new_asset_can_be_paid(deal, tasks):
    # given the provider moved to a EUR wallet and quoted again
    move_wallet(deal["provider"], asset_code="EUR", asset_scale=2)
    again = f.quote(deal["job"], deal["provider"], asset_code="EUR", asset_scale=2)
    # when
    approval = services.job_quote_approve(job_id=deal["job"].pk, quote_id=again.pk, funder=deal["funder"])
    # then the attempt pays the new wallet
    assert (approval.created, approval.attempt.status) == (True, AttemptStatus.GENERATING)
    assert approval.attempt.receiver_wallet == "https://other-wallet.example/pavel"


def test_the_same_asset_in_another_wallet_is_still_paid(deal, tasks):
    # given
    move_wallet(deal["provider"], asset_code="USD", asset_scale=2)
    # when
    approval = services.job_quote_approve(
        job_id=deal["job"].pk, quote_id=deal["quote"].pk, funder=deal["funder"]
    )
    # then
    assert approval.created is True
    assert approval.attempt.receiver_wallet == "https://other-wallet.example/pavel"
