"""Who sees what of a job's payment: attempt ids, the payment link and the wallets' records only for the
funder (the link) and staff; a provider sees whether their quote is paid and what they receive; a
competing provider, another funder and an anonymous visitor see none of it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from jobs import one_click
from jobs.models import AttemptStatus, PaymentAttempt
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

PAYMENT_URL = "https://auth.wallet.example/interact/i-1/ABCDEF0123456789"
HTMX = {"HX-Request": "true"}
FUNDER_ERROR = "The wallet refused the payment: insufficient funds."


@pytest.fixture
def market():
    """Fiona's job with a quote from Pavel ($12.50, the one being paid) and a competing one from Petra
    ($9.90) whose earlier attempt failed; Sam funds other jobs; Stella is staff who may read attempts."""
    funder = f.funder()
    job = f.job(funder)
    payee, competitor = f.provider("pavel"), f.provider("petra")
    theirs = f.quote(job, payee)
    competing = f.quote(job, competitor, amount_value=990)
    earlier = f.attempt(
        competing,
        AttemptStatus.FAILED,
        error=FUNDER_ERROR,
        op_quote_url="https://wallet.example/quotes/q-0",
        incoming_payment_url="https://wallet.example/incoming-payments/in-0",
        debit_amount=1040,
        receive_amount=990,
    )
    staff = f.user("stella", wallet=False)
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(Permission.objects.get(codename="view_paymentattempt"))
    return {
        "funder": funder,
        "job": job,
        "payee": payee,
        "competitor": competitor,
        "quote": theirs,
        "competing": competing,
        "earlier": earlier,
        "outsider": f.funder("sam"),
        "staff": staff,
    }


def internals(*attempts: PaymentAttempt) -> list[str]:
    """What only the funder and staff may see of these attempts: ids, grant URLs, the wallets' records."""
    found = []
    for attempt in attempts:
        found += [str(attempt.pk), str(attempt.idempotency_id)]
        found += [
            url
            for url in (
                attempt.payment_url,
                attempt.continue_uri,
                attempt.sender_auth_server,
                attempt.op_quote_url,
                attempt.incoming_payment_url,
                attempt.outgoing_payment_url,
                attempt.sender_wallet,
            )
            if url
        ]
    return [*found, "auth.wallet.example", FUNDER_ERROR]


def visit(client: Client, job) -> list:  # type: ignore[no-untyped-def]
    """Every page, fragment and API document about the job, as `client` asks for them."""
    job_id = {"job_id": job.pk}
    return [
        client.get(reverse("home")),
        client.get(reverse("job-list")),
        client.get(reverse("job-detail", kwargs=job_id)),
        client.get(reverse("payment-panel", kwargs=job_id), headers=HTMX),
        client.get(reverse("payment-panel", kwargs=job_id)),
        client.get(reverse("receipt", kwargs=job_id)),
        client.get(reverse("api-job-payment", kwargs=job_id)),
    ]


def page(client: Client, job) -> str:  # type: ignore[no-untyped-def]
    response = client.get(reverse("job-detail", kwargs={"job_id": job.pk}))
    assert response.status_code == 200
    return response.content.decode()


def panel(client: Client, job) -> str:  # type: ignore[no-untyped-def]
    response = client.get(reverse("payment-panel", kwargs={"job_id": job.pk}), headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


def document(client: Client, job) -> dict[str, object]:  # type: ignore[no-untyped-def]
    response = client.get(reverse("api-job-payment", kwargs={"job_id": job.pk}))
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def amount(value: str, formatted: str) -> dict[str, object]:
    return {"value": value, "assetCode": "USD", "assetScale": 2, "formatted": formatted}


# Nobody but the funder and staff


@pytest.mark.parametrize("status", [s for s, _ in AttemptStatus.choices])
@pytest.mark.parametrize("who", ["payee", "competitor", "outsider", "anonymous"])
def test_no_response_to_a_provider_or_a_stranger_names_an_attempt_or_a_wallet_record(market, who, status):
    # given the funder's current attempt on Pavel's quote, after Petra's failed one
    attempt = f.attempt(market["quote"], status)
    client = Client() if who == "anonymous" else f.logged_in(market[who])
    # when
    responses = visit(client, market["job"])
    # then
    for response in responses:
        body, headers = response.content.decode(), str(response.headers)
        for value in internals(attempt, market["earlier"]):
            assert value not in body, (response.wsgi_request.get_full_path(), value)
            assert value not in headers, (response.wsgi_request.get_full_path(), value)


@pytest.mark.parametrize(
    ("status", "reference"),
    [
        (AttemptStatus.AWAITING_AUTHORIZATION, "Payment attempt <code>{pk}</code>"),
        (AttemptStatus.SUCCEEDED, "<dt>Payment attempt</dt><dd><code>{pk}</code></dd>"),
    ],
)
@pytest.mark.parametrize("who", ["funder", "staff"])
def test_the_funder_and_staff_see_the_attempt_ids_and_the_wallets_records(market, who, status, reference):
    # given
    attempt = f.attempt(market["quote"], status)
    client = f.logged_in(market[who])
    # when
    html, fragment, body = (
        page(client, market["job"]),
        panel(client, market["job"]),
        document(client, market["job"]),
    )
    # then
    assert reference.format(pk=attempt.pk) in fragment
    assert f'<code class="attempt-id">{attempt.pk}</code>' in html
    assert f'<code class="attempt-id">{market["earlier"].pk}</code>' in html
    assert f'<p class="attempt-error">{FUNDER_ERROR}</p>' in html
    assert (body["pendingId"], body["incomingPaymentId"], body["walletQuoteId"]) == (
        str(attempt.pk),
        "https://wallet.example/incoming-payments/in-1",
        "https://wallet.example/quotes/q-1",
    )
    assert [past["pendingId"] for past in body["attempts"]] == [str(attempt.pk), str(market["earlier"].pk)]


def test_staff_read_the_panel_but_get_neither_the_link_nor_the_funder_buttons(market):
    # given
    attempt = f.attempt(market["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    client = f.logged_in(market["staff"])
    # when
    fragment, body = panel(client, market["job"]), document(client, market["job"])
    # then
    assert "<dt>Funder pays</dt><dd>$13.00</dd>" in fragment
    assert "<dt>pavel receives</dt><dd>$12.50</dd>" in fragment
    assert PAYMENT_URL not in fragment
    assert f"/payments/{attempt.pk}/cancel" not in fragment
    assert (body["paymentUrl"], body["redirectUrl"]) == (None, None)


def test_staff_who_may_not_read_payment_attempts_are_strangers_to_the_payment(market):
    # given
    f.attempt(market["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    market["staff"].user_permissions.clear()
    client = f.logged_in(market["staff"])
    # when
    fragment = client.get(reverse("payment-panel", kwargs={"job_id": market["job"].pk}), headers=HTMX)
    api = client.get(reverse("api-job-payment", kwargs={"job_id": market["job"].pk}))
    # then
    assert fragment.status_code == 404
    assert (api.status_code, api.json()) == (404, {"error": "No such job."})
    assert 'id="payment-panel"' not in page(client, market["job"])


# The provider whose quote is paid


def test_the_paid_provider_sees_what_they_receive_and_nothing_of_the_funder(market):
    # given
    f.attempt(market["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    client = f.logged_in(market["payee"])
    # when
    html, fragment = page(client, market["job"]), panel(client, market["job"])
    # then
    assert "Waiting for the funder to approve the payment in their wallet" in fragment
    assert "<div><dt>You receive</dt><dd>$12.50</dd></div>" in fragment
    for hidden in ("You pay", "Funder pays", "$13.00", "Link expires", "Payment attempt"):
        assert hidden not in fragment
    history = html[html.index("Payment history") :]
    assert history.count('<li class="attempt">') == 1
    assert '<span class="attempt-amount">$12.50</span>' in history
    assert "$9.90" not in html


def test_the_paid_provider_reads_a_status_document_without_ids_links_or_wallet_records(market):
    # given
    attempt = f.attempt(market["quote"], AttemptStatus.PROCESSING)
    # when
    body = document(f.logged_in(market["payee"]), market["job"])
    # then
    assert body == {
        "jobId": market["job"].pk,
        "pendingId": None,
        "status": "processing",
        "final": False,
        "success": False,
        "paymentUrl": None,
        "redirectUrl": None,
        "quoteId": market["quote"].pk,
        "walletQuoteId": None,
        "incomingPaymentId": None,
        "outgoingPaymentId": None,
        "amount": None,
        "receiveAmount": amount("1250", "$12.50"),
        "assetCode": None,
        "assetScale": None,
        "expiresAt": None,
        "error": None,
        "createdAt": attempt.created_at.isoformat(),
        "updatedAt": attempt.updated_at.isoformat(),
        "statusUrl": f"/api/jobs/{market['job'].pk}/payment",
        "attempts": [
            {
                "pendingId": None,
                "kind": "payment",
                "refundId": None,
                "status": "processing",
                "success": False,
                "quoteId": market["quote"].pk,
                "amount": None,
                "receiveAmount": amount("1250", "$12.50"),
                "error": None,
                "createdAt": attempt.created_at.isoformat(),
                "finishedAt": None,
            }
        ],
    }


def test_the_paid_provider_gets_a_receipt_of_what_they_received(market):
    # given
    attempt = f.attempt(market["quote"], AttemptStatus.SUCCEEDED)
    client = f.logged_in(market["payee"])
    # when
    response = client.get(reverse("receipt", kwargs={"job_id": market["job"].pk}))
    fragment = panel(client, market["job"])
    # then
    html = response.content.decode()
    assert response.status_code == 200
    day = f"{attempt.finished_at:%-d %b %Y}"
    for shown in (html, fragment):
        assert f"You were paid $12.50 by fiona for “{market['job'].title}”, {day}." in shown
        assert "<dt>You received</dt><dd>$12.50</dd>" in shown
        assert "<dt>To wallet</dt><dd><code>https://wallet.example/pavel</code></dd>" in shown
        assert f"{attempt.finished_at:%-d %b %Y, %H:%M} UTC</time></dd>" in shown
        for hidden in ("paid</dt>", "From wallet", "Incoming payment", "Outgoing payment", "Payment attempt"):
            assert hidden not in shown
    assert f'href="/jobs/{market["job"].pk}/receipt">View receipt</a>' in fragment


def test_a_failed_attempt_tells_the_provider_no_more_than_that_it_failed(market):
    # given
    f.attempt(market["quote"], AttemptStatus.FAILED, error=FUNDER_ERROR)
    # when
    fragment = panel(f.logged_in(market["payee"]), market["job"])
    # then the provider hears that the job is not paid yet, not how the funder's attempt ended
    assert '<p class="panel-status" role="status" aria-live="polite">Not paid yet</p>' in fragment
    assert '<p class="panel-note">The funder has not paid for this job yet.</p>' in fragment
    assert 'class="panel panel-none"' in fragment
    assert FUNDER_ERROR not in fragment
    assert "failed" not in fragment.lower()
    assert "did not take any money" not in fragment


# A provider whose quote is not the one paid


@pytest.mark.parametrize(
    ("status", "headline", "note"),
    [
        (
            AttemptStatus.AWAITING_AUTHORIZATION,
            "Another quote is being paid",
            "The funder approved another provider's quote; its payment is in progress.",
        ),
        (
            AttemptStatus.PROCESSING,
            "Another quote is being paid",
            "The funder approved another provider's quote; its payment is in progress.",
        ),
        (AttemptStatus.DECLINED, "Not paid yet", "The funder has not paid for this job yet."),
    ],
)
def test_a_competing_provider_learns_only_that_another_quote_is_paid(market, status, headline, note):
    # given
    f.attempt(market["quote"], status)
    client = f.logged_in(market["competitor"])
    # when
    html, fragment = page(client, market["job"]), panel(client, market["job"])
    # then
    assert f'<p class="panel-status" role="status" aria-live="polite">{headline}</p>' in fragment
    assert f'<p class="panel-note">{note}</p>' in fragment
    assert "$12.50" not in html + fragment
    assert "$13.00" not in html + fragment
    assert '<span class="quote-amount">$9.90</span>' in html
    # and how the funder's attempt at their own quote ended is the funder's business
    assert "Payment history" not in html
    assert "Failed" not in html


def test_a_competing_provider_has_no_receipt_of_another_providers_payment(market):
    # given
    f.attempt(market["quote"], AttemptStatus.SUCCEEDED)
    client = f.logged_in(market["competitor"])
    # when
    receipt = client.get(reverse("receipt", kwargs={"job_id": market["job"].pk}))
    fragment = panel(client, market["job"])
    # then
    assert receipt.status_code == 404
    assert '<span class="check" aria-hidden="true">✓</span>Paid</p>' in fragment
    assert '<p class="panel-note">The funder paid another provider\'s quote.</p>' in fragment
    assert "/receipt" not in fragment
    assert "$12.50" not in fragment


def test_a_competing_provider_reads_a_status_document_with_nothing_of_the_other_quote(market):
    # given
    attempt = f.attempt(market["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    body = document(f.logged_in(market["competitor"]), market["job"])
    # then
    assert body == {
        "jobId": market["job"].pk,
        "pendingId": None,
        "status": "awaiting_authorization",
        "final": False,
        "success": False,
        "paymentUrl": None,
        "redirectUrl": None,
        "quoteId": None,
        "walletQuoteId": None,
        "incomingPaymentId": None,
        "outgoingPaymentId": None,
        "amount": None,
        "receiveAmount": None,
        "assetCode": None,
        "assetScale": None,
        "expiresAt": None,
        "error": None,
        "createdAt": attempt.created_at.isoformat(),
        "updatedAt": attempt.updated_at.isoformat(),
        "statusUrl": f"/api/jobs/{market['job'].pk}/payment",
        "attempts": [],
    }


def test_a_provider_session_is_never_sent_to_the_funders_payment_link(market):
    # given a provider's browser that somehow carries the one-click flag of the funder's attempt
    attempt = f.attempt(market["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    client = f.logged_in(market["payee"])
    session = client.session
    session[one_click.SESSION_KEY] = str(attempt.pk)
    session.save()
    # when
    response = client.get(reverse("payment-panel", kwargs={"job_id": market["job"].pk}), headers=HTMX)
    # then
    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assert PAYMENT_URL not in response.content.decode()


# Anonymous visitors


def test_anonymous_visitors_are_sent_to_log_in_or_refused_by_the_api(market, tasks):
    # given
    attempt = f.attempt(market["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    job_id = market["job"].pk
    # when
    pages = visit(Client(), market["job"])
    approve = Client().post(
        reverse("api-quote-approve", kwargs={"job_id": job_id, "quote_id": market["quote"].pk})
    )
    # then
    assert [r.status_code for r in pages] == [200, 302, 302, 302, 302, 302, 401]
    assert [r["Location"] for r in pages[1:6]] == [
        "/login?next=/jobs",
        f"/login?next=/jobs/{job_id}",
        f"/login?next=/jobs/{job_id}/payment-panel",
        f"/login?next=/jobs/{job_id}/payment-panel",
        f"/login?next=/jobs/{job_id}/receipt",
    ]
    assert pages[6].json() == {"error": "Log in, or send Authorization: Token <key>."}
    assert (approve.status_code, approve.json()) == (
        401,
        {"error": "Log in, or send Authorization: Token <key>."},
    )
    assert str(attempt.pk) not in approve.content.decode()
    f.assert_nothing_enqueued(tasks)


def test_the_paid_provider_sees_their_payment_not_the_funders_earlier_tries(market):
    # given the funder cancelled one link for Pavel's quote, then paid it
    cancelled = f.attempt(market["quote"], AttemptStatus.CANCELLED)
    paid = f.attempt(market["quote"], AttemptStatus.SUCCEEDED)
    client = f.logged_in(market["payee"])
    # when
    html = page(client, market["job"])
    body = document(client, market["job"])
    # then the history holds the payment alone, and their quote is theirs
    history = html[html.index("Payment history") :]
    assert history.count('<li class="attempt">') == 1
    assert '<span class="badge badge-paid">Paid</span>' in history
    assert "Cancelled" not in html
    assert [past["status"] for past in body["attempts"]] == ["succeeded"]
    assert str(cancelled.pk) not in html + str(body)
    assert str(paid.pk) not in html
    assert 'by <span class="quote-by">you</span> ·' in html
