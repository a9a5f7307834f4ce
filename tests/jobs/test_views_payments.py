"""Paying from the job page: approve, the payment panel in every state, one-click, cancel, receipt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobs import one_click
from jobs.models import QUOTE_OUTDATED, AttemptStatus, PaymentAttempt
from jobs.presenters import receipt_number
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

PAYMENT_URL = "https://auth.wallet.example/interact/i-1/ABCDEF0123456789"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def deal():
    """A funder's job with one quote from a provider, and a third user with nothing to do with it."""
    funder, provider = f.funder(), f.provider()
    job = f.job(funder)
    quote = f.quote(job, provider)
    return {"funder": funder, "provider": provider, "job": job, "quote": quote, "stranger": f.provider("sam")}


def approve_url(job, quote) -> str:
    return reverse("quote-approve", kwargs={"job_id": job.pk, "quote_id": quote.pk})


def panel_url(job) -> str:
    return reverse("payment-panel", kwargs={"job_id": job.pk})


def eur_attempt(deal, status: str, **fields: object) -> None:
    """Sam's 40.00 EUR quote on the job, paid from the funder's USD wallet at $44.00, in `status`."""
    quote = f.quote(deal["job"], deal["stranger"], amount_value=4000, asset_code="EUR")
    f.attempt(quote, status, debit_amount=4400, receive_amount=4000, receive_asset_code="EUR", **fields)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# Approve


def test_approve_creates_one_attempt_and_enqueues_it_once(deal, tasks):
    # given
    client = f.logged_in(deal["funder"])
    # when
    response = client.post(approve_url(deal["job"], deal["quote"]))
    # then
    attempt = PaymentAttempt.objects.get()
    assert (attempt.job, attempt.quote, attempt.status) == (
        deal["job"],
        deal["quote"],
        AttemptStatus.GENERATING,
    )
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{deal['job'].pk}"
    tasks.generate_link.assert_called_once_with(str(attempt.pk))
    assert client.session[one_click.SESSION_KEY] == str(attempt.pk)
    assert messages_of(response) == ["Quote approved. Generating your payment link…"]


def test_approve_twice_answers_the_same_attempt_without_enqueuing_again(deal, tasks):
    # given
    client = f.logged_in(deal["funder"])
    client.post(approve_url(deal["job"], deal["quote"]), follow=True)
    # when
    response = client.post(approve_url(deal["job"], deal["quote"]))
    # then
    attempt = PaymentAttempt.objects.get()
    assert response.status_code == 302
    tasks.generate_link.assert_called_once_with(str(attempt.pk))
    assert messages_of(response) == ["Your payment is already on its way; here is where it stands."]


@pytest.mark.parametrize("who", ["stranger", "provider"])
def test_approve_by_someone_else_is_404_and_changes_nothing(deal, tasks, who):
    # given
    client = f.logged_in(deal[who])
    # when
    response = client.post(approve_url(deal["job"], deal["quote"]))
    # then
    assert response.status_code == 404
    assert PaymentAttempt.objects.count() == 0
    f.assert_nothing_enqueued(tasks)


def test_approve_a_quote_of_another_job_is_404(deal, tasks):
    # given
    other_job = f.job(deal["funder"], title="Another job")
    # when
    response = f.logged_in(deal["funder"]).post(approve_url(other_job, deal["quote"]))
    # then
    assert response.status_code == 404
    assert PaymentAttempt.objects.count() == 0
    f.assert_nothing_enqueued(tasks)


def test_approve_without_a_funder_wallet_is_refused(tasks):
    # given
    funder = f.funder(wallet=False)
    job = f.job(funder)
    quote = f.quote(job, f.provider())
    # when
    response = f.logged_in(funder).post(approve_url(job, quote))
    # then
    assert response.status_code == 302
    assert messages_of(response) == ["Add your wallet address to your profile before paying."]
    assert PaymentAttempt.objects.count() == 0
    f.assert_nothing_enqueued(tasks)


def test_approve_is_post_only(deal, tasks):
    # when
    response = f.logged_in(deal["funder"]).get(approve_url(deal["job"], deal["quote"]))
    # then
    assert response.status_code == 405
    assert PaymentAttempt.objects.count() == 0
    f.assert_nothing_enqueued(tasks)


def test_get_a_new_link_after_a_final_attempt_starts_a_new_one(deal, tasks):
    # given
    expired = f.attempt(deal["quote"], AttemptStatus.EXPIRED)
    # when
    response = f.logged_in(deal["funder"]).post(approve_url(deal["job"], deal["quote"]))
    # then
    new = PaymentAttempt.objects.exclude(pk=expired.pk).get()
    assert response.status_code == 302
    assert f.statuses(deal["job"]) == [AttemptStatus.EXPIRED, AttemptStatus.GENERATING]
    tasks.generate_link.assert_called_once_with(str(new.pk))


def test_approve_requires_the_csrf_token(deal, tasks):
    # given
    client = f.logged_in(deal["funder"], csrf=True)
    # when
    refused = client.post(approve_url(deal["job"], deal["quote"]))
    # then
    assert refused.status_code == 403
    assert PaymentAttempt.objects.count() == 0
    f.assert_nothing_enqueued(tasks)


def test_approve_with_the_csrf_token_of_the_page_works(deal, tasks):
    # given
    client = f.logged_in(deal["funder"], csrf=True)
    client.get(reverse("job-detail", kwargs={"job_id": deal["job"].pk}))
    token = client.cookies["csrftoken"].value
    # when
    response = client.post(approve_url(deal["job"], deal["quote"]), {"csrfmiddlewaretoken": token})
    # then
    assert response.status_code == 302
    tasks.generate_link.assert_called_once_with(str(PaymentAttempt.objects.get().pk))


# The payment panel, one state at a time


def test_panel_without_an_attempt_invites_the_funder_to_approve(deal):
    # when
    response = f.logged_in(deal["funder"]).get(panel_url(deal["job"]))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "No payment yet. Approve a quote to pay for this job." in html
    assert "hx-trigger" not in html


def test_panel_generating_polls_every_2s(deal):
    # given
    f.attempt(deal["quote"], AttemptStatus.GENERATING)
    # when
    response = f.logged_in(deal["funder"]).get(panel_url(deal["job"]), headers=HTMX)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f'hx-get="/jobs/{deal["job"].pk}/payment-panel" hx-trigger="every 2s" hx-swap="outerHTML"' in html
    assert '<p class="panel-status" role="status" aria-live="polite">' in html
    assert "Generating payment link…" in html
    assert f'<noscript><p><a href="/jobs/{deal["job"].pk}">Refresh status</a></p></noscript>' in html


def test_panel_awaiting_authorization_shows_the_link_amounts_qr_and_cancel(deal):
    # given
    attempt = f.attempt(deal["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    expires = attempt.authorization_expires_at
    # when
    response = f.logged_in(deal["funder"]).get(panel_url(deal["job"]), headers=HTMX)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 5s"' in html
    assert "<dt>You pay</dt><dd>$13.00</dd>" in html
    assert "<dt>pavel receives</dt><dd>$12.50</dd>" in html
    assert f'<time datetime="{expires.isoformat()}">{expires:%H:%M} UTC</time>' in html
    assert (
        f'<a class="button button-primary button-block" href="{PAYMENT_URL}" rel="noopener noreferrer">'
        "Complete payment</a>"
    ) in html
    assert f'<input id="payment-link-{attempt.pk}" type="text" readonly value="{PAYMENT_URL}">' in html
    assert f'data-copy-target="payment-link-{attempt.pk}">Copy</button>' in html
    assert '<figure class="qr"><svg role="img" aria-label="QR code of the payment link" width=' in html
    assert html.count("button-primary") == 1
    assert f'<form method="post" action="/payments/{attempt.pk}/cancel" class="panel-cancel">' in html
    assert f"Payment attempt <code>{attempt.pk}</code>" in html


@pytest.mark.parametrize("status", [AttemptStatus.AUTHORIZED, AttemptStatus.PROCESSING])
def test_panel_authorized_or_processing_polls_every_2s(deal, status):
    # given
    f.attempt(deal["quote"], status)
    # when
    response = f.logged_in(deal["funder"]).get(panel_url(deal["job"]), headers=HTMX)
    # then
    html = response.content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert "Processing payment…" in html
    assert PAYMENT_URL not in html


def test_panel_succeeded_shows_paid_and_the_receipt_and_stops_polling(deal):
    # given
    attempt = f.attempt(deal["quote"], AttemptStatus.SUCCEEDED)
    job = deal["job"]
    # when
    response = f.logged_in(deal["funder"]).get(panel_url(job), headers=HTMX)
    # then it says who paid whom how much for what, then the one next step: the receipt
    html = response.content.decode()
    assert "hx-trigger" not in html
    assert "hx-get" not in html
    assert '<span class="check" aria-hidden="true">✓</span>Paid</p>' in html
    day = f"{attempt.finished_at:%-d %b %Y}"
    assert f'<p class="receipt-summary">You paid pavel $12.50 for “{job.title}”, {day}.</p>' in html
    assert f"Receipt number <strong>{receipt_number(attempt)}</strong>" in html
    assert "<dt>You paid</dt><dd>$13.00 <span" in html
    assert "(includes $0.50 wallet fee)" in html
    assert "<dt>pavel received</dt><dd>$12.50</dd>" in html
    assert html.count("button-primary") == 1
    assert f'<a class="button button-primary button-block" href="{receipt_url(job)}">View receipt</a>' in html
    # and the wallets' records wait behind a disclosure
    technical = html[html.index("<summary>Technical details</summary>") :]
    assert "<code>https://wallet.example/outgoing-payments/out-1</code>" in technical
    assert f"<dt>Payment attempt</dt><dd><code>{attempt.pk}</code></dd>" in technical


@pytest.mark.parametrize(
    ("status", "error", "headline", "tone"),
    [
        (
            AttemptStatus.FAILED,
            "The wallet refused the payment: insufficient funds.",
            "Payment failed",
            "problem",
        ),
        (AttemptStatus.DECLINED, "You declined the payment in your wallet.", "Payment declined", "neutral"),
        (AttemptStatus.EXPIRED, "", "Payment link expired", "neutral"),
        (AttemptStatus.CANCELLED, "You cancelled this payment link.", "Payment link cancelled", "neutral"),
    ],
)
def test_panel_final_failure_explains_and_offers_a_new_link(deal, status, error, headline, tone):
    # given
    f.attempt(deal["quote"], status, error=error)
    expected_error = error or "The payment link expired before it was approved."
    # when
    response = f.logged_in(deal["funder"]).get(panel_url(deal["job"]), headers=HTMX)
    # then a failure is a problem; what the funder chose (or let lapse) is told calmly
    html = response.content.decode()
    assert "hx-trigger" not in html
    assert (
        f'<p class="panel-status panel-status-{tone}" role="status" aria-live="polite">{headline}</p>' in html
    )
    kind = "error" if tone == "problem" else "note"
    assert f'<p class="panel-{kind}">{expected_error}</p>' in html
    assert f'<form method="post" action="{approve_url(deal["job"], deal["quote"])}">' in html
    assert "Get a new link" in html
    assert html.count("button-primary") == 1


def test_after_an_unpaid_end_the_page_offers_one_way_on(deal):
    # given a cancelled link, and a second provider's quote
    f.attempt(deal["quote"], AttemptStatus.CANCELLED)
    other = f.quote(deal["job"], deal["stranger"])
    # when
    html = (
        f.logged_in(deal["funder"])
        .get(reverse("job-detail", kwargs={"job_id": deal["job"].pk}))
        .content.decode()
    )
    # then one primary button (a new link for the same quote); the other quote may still be chosen
    assert html.count("button-primary") == 1
    assert "Get a new link" in html
    assert "Not paid yet: see Payment" in html
    assert f'action="{approve_url(deal["job"], other)}"' in html
    assert f'action="{approve_url(deal["job"], deal["quote"])}" class="inline-form"' not in html


def test_panel_for_the_provider_never_shows_the_payment_link(deal):
    # given
    f.attempt(deal["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    response = f.logged_in(deal["provider"]).get(panel_url(deal["job"]), headers=HTMX)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Waiting for the funder to approve the payment in their wallet" in html
    assert "<dt>You receive</dt><dd>$12.50</dd>" in html
    assert PAYMENT_URL not in html
    assert "/cancel" not in html


def test_panel_is_404_for_someone_outside_the_job(deal):
    # given
    f.attempt(deal["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    response = f.logged_in(deal["stranger"]).get(panel_url(deal["job"]), headers=HTMX)
    # then
    assert response.status_code == 404


def test_panel_asks_anonymous_visitors_to_log_in(deal):
    # when
    response = Client().get(panel_url(deal["job"]))
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/login?next=/jobs/{deal['job'].pk}/payment-panel"


# Approve & pay in one click


def test_one_click_redirects_the_approving_browser_to_the_wallet_exactly_once(deal):
    # given
    client = f.logged_in(deal["funder"])
    client.post(approve_url(deal["job"], deal["quote"]))
    attempt = PaymentAttempt.objects.get()
    still_generating = client.get(panel_url(deal["job"]), headers=HTMX)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        status=AttemptStatus.AWAITING_AUTHORIZATION, payment_url=PAYMENT_URL
    )
    # when
    first = client.get(panel_url(deal["job"]), headers=HTMX)
    second = client.get(panel_url(deal["job"]), headers=HTMX)
    # then
    assert "HX-Redirect" not in still_generating
    assert first.status_code == 200
    assert first["HX-Redirect"] == PAYMENT_URL
    assert second.status_code == 200
    assert "HX-Redirect" not in second
    assert 'hx-trigger="every 5s"' in second.content.decode()
    assert one_click.SESSION_KEY not in client.session


def test_one_click_does_not_redirect_another_browser_of_the_funder(deal):
    # given
    f.logged_in(deal["funder"]).post(approve_url(deal["job"], deal["quote"]))
    PaymentAttempt.objects.update(status=AttemptStatus.AWAITING_AUTHORIZATION, payment_url=PAYMENT_URL)
    # when
    response = f.logged_in(deal["funder"]).get(panel_url(deal["job"]), headers=HTMX)
    # then
    assert "HX-Redirect" not in response


def test_one_click_waits_for_an_htmx_poll(deal):
    # given
    client = f.logged_in(deal["funder"])
    client.post(approve_url(deal["job"], deal["quote"]))
    PaymentAttempt.objects.update(status=AttemptStatus.AWAITING_AUTHORIZATION, payment_url=PAYMENT_URL)
    # when
    plain = client.get(panel_url(deal["job"]))
    # then
    assert "HX-Redirect" not in plain
    assert client.session[one_click.SESSION_KEY] == str(PaymentAttempt.objects.get().pk)


# Cancel


def cancel_url(attempt) -> str:
    return reverse("attempt-cancel", kwargs={"attempt_id": attempt.pk})


def test_cancel_moves_the_link_to_cancelled_and_revokes_the_grant(deal, tasks):
    # given
    attempt = f.attempt(deal["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    response = f.logged_in(deal["funder"]).post(cancel_url(attempt))
    # then
    attempt.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{deal['job'].pk}"
    assert (attempt.status, attempt.error) == (AttemptStatus.CANCELLED, "You cancelled this payment link.")
    tasks.cancel_grant.assert_called_once_with(str(attempt.pk))
    assert messages_of(response) == ["Payment link cancelled. Nothing was paid."]


@pytest.mark.parametrize(
    "status", [AttemptStatus.GENERATING, AttemptStatus.AUTHORIZED, AttemptStatus.SUCCEEDED]
)
def test_cancel_after_the_payment_was_asked_for_changes_nothing(deal, tasks, status):
    # given an attempt whose outgoing payment was asked for (or that has no link yet)
    attempt = f.attempt(deal["quote"], status, outgoing_payment_requested_at=timezone.now())
    # when
    response = f.logged_in(deal["funder"]).post(cancel_url(attempt))
    # then
    assert response.status_code == 302
    assert messages_of(response) == ["This payment link can no longer be cancelled."]
    assert f.statuses(deal["job"]) == [status]
    f.assert_nothing_enqueued(tasks)


def test_an_authorized_payment_still_waiting_for_its_wallet_can_be_cancelled(deal, tasks):
    # given an approved payment whose wallet asked us to wait before continuing (no payment asked for yet)
    attempt = f.attempt(deal["quote"], AttemptStatus.AUTHORIZED, continue_wait=3600)
    funder = f.logged_in(deal["funder"])
    panel = funder.get(reverse("payment-panel", args=[deal["job"].pk]))
    assert 'class="panel-cancel"' in panel.content.decode()

    # when the funder cancels
    response = funder.post(cancel_url(attempt))

    # then it is cancelled and its grant revoked (which kills any token the continuation brought)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.error) == (AttemptStatus.CANCELLED, "You cancelled this payment link.")
    tasks.cancel_grant.assert_called_once_with(str(attempt.pk))
    assert messages_of(response) == ["Payment link cancelled. Nothing was paid."]


def test_an_authorized_payment_already_asked_for_offers_no_cancel(deal, tasks):
    # given a payment whose outgoing payment was asked for
    f.attempt(deal["quote"], AttemptStatus.AUTHORIZED, outgoing_payment_requested_at=timezone.now())

    # then the funder's panel has no Cancel
    panel = f.logged_in(deal["funder"]).get(reverse("payment-panel", args=[deal["job"].pk]))
    assert 'class="panel-cancel"' not in panel.content.decode()


@pytest.mark.parametrize("who", ["provider", "stranger"])
def test_cancel_by_anyone_but_the_funder_is_404(deal, tasks, who):
    # given
    attempt = f.attempt(deal["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    response = f.logged_in(deal[who]).post(cancel_url(attempt))
    # then
    assert response.status_code == 404
    assert f.statuses(deal["job"]) == [AttemptStatus.AWAITING_AUTHORIZATION]
    f.assert_nothing_enqueued(tasks)


def test_cancel_requires_the_csrf_token(deal, tasks):
    # given
    attempt = f.attempt(deal["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    response = f.logged_in(deal["funder"], csrf=True).post(cancel_url(attempt))
    # then
    assert response.status_code == 403
    assert f.statuses(deal["job"]) == [AttemptStatus.AWAITING_AUTHORIZATION]
    f.assert_nothing_enqueued(tasks)


def test_cancel_forgets_the_one_click_flag(deal):
    # given
    client = f.logged_in(deal["funder"])
    client.post(approve_url(deal["job"], deal["quote"]))
    attempt = PaymentAttempt.objects.get()
    PaymentAttempt.objects.update(status=AttemptStatus.AWAITING_AUTHORIZATION, payment_url=PAYMENT_URL)
    # when
    client.post(cancel_url(attempt))
    # then
    assert one_click.SESSION_KEY not in client.session


# Receipt


def receipt_url(job) -> str:
    return reverse("receipt", kwargs={"job_id": job.pk})


def test_receipt_shows_the_funder_amounts_wallets_payments_and_dates(deal):
    # given
    attempt = f.attempt(deal["quote"], AttemptStatus.SUCCEEDED)
    # when
    response = f.logged_in(deal["funder"]).get(receipt_url(deal["job"]))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    for fragment in (
        f"<title>Receipt {receipt_number(attempt)} · Marketplace</title>",
        f"You paid pavel $12.50 for “{deal['job'].title}”, {attempt.finished_at:%-d %b %Y}.",
        '<dt>You paid</dt><dd>$13.00 <span class="muted">(includes $0.50 wallet fee)</span></dd>',
        "<dt>pavel received</dt><dd>$12.50</dd>",
        "<dt>From wallet</dt><dd><code>https://wallet.example/fiona</code></dd>",
        "<dt>To wallet</dt><dd><code>https://wallet.example/pavel</code></dd>",
        "<dt>Incoming payment</dt><dd><code>https://wallet.example/incoming-payments/in-1</code></dd>",
        "<dt>Outgoing payment</dt><dd><code>https://wallet.example/outgoing-payments/out-1</code></dd>",
        f"{attempt.finished_at:%-d %b %Y, %H:%M} UTC</time></dd>",
        f"<dt>Payment attempt</dt><dd><code>{attempt.pk}</code></dd>",
        '<button type="button" class="button button-primary" data-print>Print or save as PDF</button>',
    ):
        assert fragment in html


def test_receipt_debits_the_quoted_amount_when_the_wallet_kept_a_fee(deal):
    # given a payment whose wallet charged a $0.50 fee: 13.00 debited, 12.50 sent and received
    f.attempt(deal["quote"], AttemptStatus.SUCCEEDED, sent_amount=1250)
    # when
    response = f.logged_in(deal["funder"]).get(receipt_url(deal["job"]))
    # then what left the funder's wallet is the quoted debit, not what the payment sent on
    html = response.content.decode()
    assert "<dt>You paid</dt><dd>$13.00 <span" in html
    assert "<dt>pavel received</dt><dd>$12.50</dd>" in html


def test_receipt_of_a_payment_across_currencies_shows_both_sides_and_the_rate(deal):
    # given a EUR quote paid from the funder's USD wallet: $44.00 debited, €40.00 received
    eur_attempt(deal, AttemptStatus.SUCCEEDED, received_amount=4000)
    # when
    html = f.logged_in(deal["funder"]).get(receipt_url(deal["job"])).content.decode()
    # then
    assert "<dt>You paid</dt><dd>$44.00</dd>" in html
    assert "<dt>sam received</dt><dd>€40.00</dd>" in html
    assert "<dt>Exchange rate</dt><dd>1 USD = 0.9091 EUR <span" in html


def test_receipt_is_404_for_someone_outside_the_job(deal):
    # given
    f.attempt(deal["quote"], AttemptStatus.SUCCEEDED)
    # when
    response = f.logged_in(deal["stranger"]).get(receipt_url(deal["job"]))
    # then
    assert response.status_code == 404


def test_receipt_is_404_before_the_job_is_paid(deal):
    # given
    f.attempt(deal["quote"], AttemptStatus.PROCESSING)
    # when
    response = f.logged_in(deal["funder"]).get(receipt_url(deal["job"]))
    # then
    assert response.status_code == 404


def test_panel_with_a_link_past_its_expiry_offers_cancel_instead_of_the_link(deal):
    # given
    attempt = f.attempt(
        deal["quote"],
        AttemptStatus.AWAITING_AUTHORIZATION,
        authorization_expires_at=timezone.now() - timedelta(seconds=1),
    )
    # when
    html = f.logged_in(deal["funder"]).get(panel_url(deal["job"]), headers=HTMX).content.decode()
    # then
    assert '<p class="panel-error">This link has expired. Cancel it to get a new one.</p>' in html
    assert '<span class="muted">(expired)</span>' in html
    assert "Complete payment" not in html
    assert f'action="/payments/{attempt.pk}/cancel"' in html
    assert 'hx-trigger="every 5s"' in html


def test_a_stored_link_that_is_not_http_is_never_linked_nor_redirected_to(deal):
    # given
    client = f.logged_in(deal["funder"])
    client.post(approve_url(deal["job"], deal["quote"]))
    PaymentAttempt.objects.update(
        status=AttemptStatus.AWAITING_AUTHORIZATION, payment_url="javascript:alert(1)"
    )
    # when
    response = client.get(panel_url(deal["job"]), headers=HTMX)
    # then
    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assert "javascript:" not in response.content.decode()


def test_panel_final_failure_for_the_provider_has_no_new_link_button(deal):
    # given
    f.attempt(deal["quote"], AttemptStatus.DECLINED, error="You declined the payment in your wallet.")
    # when
    html = f.logged_in(deal["provider"]).get(panel_url(deal["job"]), headers=HTMX).content.decode()
    # then the provider hears only that the job is not paid yet
    assert '<p class="panel-status" role="status" aria-live="polite">Not paid yet</p>' in html
    assert '<p class="panel-note">The funder has not paid for this job yet.</p>' in html
    assert "declined" not in html.lower()
    assert "Get a new link" not in html


def test_each_panel_poll_updates_the_job_badge_in_the_page_header(deal):
    # given a payment the wallet is processing
    f.attempt(deal["quote"], AttemptStatus.PROCESSING)
    # when the page polls its panel
    html = f.logged_in(deal["funder"]).get(panel_url(deal["job"]), headers=HTMX).content.decode()
    # then the answer carries the header's badge too (htmx swaps it out of band)
    expected = '<span id="job-badge" hx-swap-oob="true" class="badge badge-large badge-processing">'
    assert f"{expected}Processing payment</span>" in html
    # and a full page has the badge once, with no out-of-band marker
    page = f.logged_in(deal["funder"]).get(reverse("job-detail", kwargs={"job_id": deal["job"].pk}))
    assert page.content.decode().count('id="job-badge"') == 1
    assert "hx-swap-oob" not in page.content.decode()


def test_panel_before_consent_shows_both_currencies_and_the_rate(deal):
    # given a EUR quote whose link is ready at the funder's USD wallet: $44.00 for €40.00
    eur_attempt(deal, AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    html = f.logged_in(deal["funder"]).get(panel_url(deal["job"]), headers=HTMX).content.decode()
    # then
    assert "<dt>You pay</dt><dd>$44.00</dd>" in html
    assert "<dt>sam receives</dt><dd>€40.00</dd>" in html
    assert (
        '<dt>Exchange rate</dt><dd>1 USD = 0.9091 EUR <span class="muted">(fees included)</span></dd>' in html
    )


def test_a_quote_the_providers_wallet_outgrew_offers_no_link_that_would_fail_the_same_way(deal):
    # given the provider's wallet changed asset since they quoted, so the attempt ended on it
    f.attempt(
        deal["quote"],
        AttemptStatus.FAILED,
        error="The provider's wallet now holds EUR, but their quote is in USD; ask them to quote again.",
        error_code=QUOTE_OUTDATED,
    )
    # when
    html = (
        f.logged_in(deal["funder"])
        .get(reverse("job-detail", kwargs={"job_id": deal["job"].pk}))
        .content.decode()
    )
    # then the funder reads what to do, and is offered nothing that cannot help
    assert "ask them to quote again." in html
    assert "Get a new link" not in html
    assert approve_url(deal["job"], deal["quote"]) not in html
    assert "Outdated: the provider needs to quote again" in html
    assert "button-primary" not in html
