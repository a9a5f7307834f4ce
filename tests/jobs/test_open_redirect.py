"""Open redirects: where the browser goes next never comes from a request parameter. The payment link is
the one the funder's wallet answered in its grant response (stored by the worker), nothing else."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from jobs.models import AttemptStatus, PaymentAttempt
from jobs.services import api_token_create
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

EVIL = "https://evil.example/phish"
PARAMS = {
    "next": EVIL,
    "redirect": EVIL,
    "redirect_uri": EVIL,
    "return_to": EVIL,
    "payment_url": EVIL,
    "paymentUrl": EVIL,
    "url": EVIL,
}


@pytest.fixture
def deal():
    funder, provider = f.funder(), f.provider()
    job = f.job(funder)
    return {"funder": funder, "job": job, "quote": f.quote(job, provider)}


def test_approving_with_redirect_parameters_goes_to_our_job_page_and_stores_no_link(deal, tasks):
    # when the funder's approve POST carries redirect targets in the query and the body
    url = reverse("quote-approve", kwargs={"job_id": deal["job"].pk, "quote_id": deal["quote"].pk})
    response = f.logged_in(deal["funder"]).post(f"{url}?next={EVIL}&payment_url={EVIL}", PARAMS)

    # then the browser goes to our job page and the attempt has no link until the wallet gives one
    assert (response.status_code, response["Location"]) == (302, f"/jobs/{deal['job'].pk}")
    assert PaymentAttempt.objects.get(job=deal["job"]).payment_url == ""


def test_the_api_ignores_a_payment_url_sent_by_the_caller(deal, tasks):
    # when a script approves with a payment URL of its own in the body and the query
    key = api_token_create(user=deal["funder"]).key
    url = reverse("api-quote-approve", kwargs={"job_id": deal["job"].pk, "quote_id": deal["quote"].pk})
    response = Client().post(
        f"{url}?paymentUrl={EVIL}", PARAMS, content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}"
    )

    # then the document offers no link (none from the wallet yet), and the Location is our own status URL
    assert response.status_code == 202
    assert response.json()["paymentUrl"] is None and response.json()["redirectUrl"] is None
    assert response["Location"] == reverse("api-job-payment", kwargs={"job_id": deal["job"].pk})
    assert EVIL not in response.content.decode()


def test_the_panel_redirects_only_to_the_stored_wallet_link(deal, tasks):
    # given a link the wallet answered, and the approving browser
    browser = f.logged_in(deal["funder"])
    url = reverse("quote-approve", kwargs={"job_id": deal["job"].pk, "quote_id": deal["quote"].pk})
    browser.post(url)
    wallet_link = "https://auth.wallet.example/interact/i-1/ABCDEF0123456789"
    PaymentAttempt.objects.filter(job=deal["job"]).update(
        status=AttemptStatus.AWAITING_AUTHORIZATION, payment_url=wallet_link
    )

    # when the panel is polled with redirect parameters
    panel = reverse("payment-panel", kwargs={"job_id": deal["job"].pk})
    response = browser.get(panel, PARAMS, headers={"HX-Request": "true"})

    # then htmx is sent to the wallet's link, never to the parameter
    assert response["HX-Redirect"] == wallet_link


@pytest.mark.parametrize("route", ["login", "logout"])
def test_login_and_logout_never_redirect_off_site(deal, route):
    # when a login or logout carries ?next= to another site
    client = Client() if route == "login" else f.logged_in(deal["funder"])
    data = {"username": deal["funder"].username, "password": f.PASSWORD} if route == "login" else {}
    response = client.post(f"{reverse(route)}?next={EVIL}", {**data, "next": EVIL})

    # then the browser stays on our site
    assert response.status_code == 302
    assert not response["Location"].startswith(("http://", "https://", "//"))
