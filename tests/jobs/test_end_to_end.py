"""The web layer on the real stack (local wallet, Redis, a worker): from sign-up to the receipt.

Profiles resolve their wallets through the real resolver; the funder approves through the API with a
token, is sent to the wallet by the one-click redirect, and comes back through the finish callback.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from jobs import services
from jobs.models import Job, Quote
from tests.jobs import factories as f
from tests.services import wait_until
from tests.worker.conftest import Stack, stack  # noqa: F401 - the fixture of the real stack

pytestmark = [pytest.mark.redis, pytest.mark.slow]
HTMX = {"HX-Request": "true"}


def sign_up(username: str, role: str, wallet_url: str) -> Client:
    """A browser that signed up with `role` and saved `wallet_url` on its profile."""
    browser = Client()
    form = {
        "email": f"{username}@example.org",
        "roles": role.removeprefix("is_"),
        "username": username,
        "password1": f.PASSWORD,
        "password2": f.PASSWORD,
    }
    assert browser.post(reverse("signup"), form).status_code == 302
    saved = browser.post(reverse("profile"), {role: "on", "wallet_address": wallet_url})
    assert saved.status_code == 302, saved.content.decode()
    return browser


def status(api: Client, job: Job, token: str) -> dict[str, object]:
    response = api.get(
        reverse("api-job-payment", kwargs={"job_id": job.pk}), headers={"Authorization": token}
    )
    assert response.status_code == 200
    return response.json()


def test_from_sign_up_to_the_receipt(stack: Stack) -> None:  # noqa: F811
    # given a funder and a provider who signed up and saved their wallets
    funder = sign_up("fiona", "is_funder", stack.wallet.wallet_url("fiona"))
    provider = sign_up("pavel", "is_provider", stack.wallet.wallet_url("pavel"))
    funder.post(reverse("job-create"), {"title": "Translate the README", "description": "Into Portuguese."})
    job = Job.objects.get()
    provider.post(reverse("quote-create", kwargs={"job_id": job.pk}), {"amount": "12.50"})
    quote = Quote.objects.get()
    token = f"Token {services.api_token_create(user=job.funder).key}"
    api = Client()
    with stack.worker():
        # when the funder approves through the API, and the browser that approved polls the panel
        approved = api.post(
            reverse("api-quote-approve", kwargs={"job_id": job.pk, "quote_id": quote.pk}),
            headers={"Authorization": token},
        )
        funder.post(reverse("quote-approve", kwargs={"job_id": job.pk, "quote_id": quote.pk}))
        wait_until(lambda: status(api, job, token)["status"] == "awaiting_authorization", 60, "the link")
        document = status(api, job, token)
        redirect = funder.get(reverse("payment-panel", kwargs={"job_id": job.pk}), headers=HTMX)

        # then the API answered 202 at once, the link is ready, and the browser is sent to the wallet
        assert approved.status_code == 202
        assert document["pendingId"] == approved.json()["pendingId"]
        assert document["amount"] == {
            "value": "1250",
            "assetCode": "USD",
            "assetScale": 2,
            "formatted": "$12.50",
        }
        assert redirect["HX-Redirect"] == document["paymentUrl"]

        # when the wallet sends the browser back after consent
        consent = httpx.get(redirect["HX-Redirect"], follow_redirects=False, timeout=10)
        finish = urlsplit(consent.headers["location"])
        back = funder.get(f"{finish.path}?{finish.query}")

        # then the payment completes
        assert back.status_code == 302
        wait_until(lambda: status(api, job, token)["status"] == "succeeded", 60, "the payment")

    document = status(api, job, token)
    assert (document["success"], document["error"]) == (True, None)
    panel = funder.get(reverse("payment-panel", kwargs={"job_id": job.pk}), headers=HTMX).content.decode()
    assert "hx-trigger" not in panel
    receipt = provider.get(reverse("receipt", kwargs={"job_id": job.pk})).content.decode()
    assert "<dt>You received</dt><dd>$12.50</dd>" in receipt
    assert "You were paid $12.50 by fiona for “Translate the README”" in receipt
    assert f"<dt>To wallet</dt><dd><code>{stack.wallet.wallet_url('pavel')}</code></dd>" in receipt
