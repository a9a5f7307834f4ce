"""Refunds from the job page: asking, offering, agreeing, declining, withdrawing; the refunds section in
every state for both sides; the badges, the history, the page of refunds waiting for a provider."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote as urlquote

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs import one_click, services
from jobs.models import AttemptKind, AttemptStatus, Job, PaymentAttempt, Refund
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
REFUND_LINK = "https://auth.wallet.example/interact/r-1/0123456789ABCDEF"


@pytest.fixture
def paid() -> dict[str, Any]:
    """A job its funder paid $45.00 for to a provider, and a third user with nothing to do with it."""
    funder, provider = f.funder(), f.provider()
    job = f.job(funder)
    quote = f.quote(job, provider, amount_value=4500)
    payment = f.attempt(
        quote, AttemptStatus.SUCCEEDED, debit_amount=4500, receive_amount=4500, received_amount=4500
    )
    Job.objects.filter(pk=job.pk).update(status=Job.Status.PAID, paid_at=timezone.now(), paid_amount=4500)
    job.refresh_from_db()
    return {
        "funder": funder,
        "provider": provider,
        "job": job,
        "quote": quote,
        "payment": payment,
        "stranger": f.user("sam", funder=True, provider=True),
    }


def ask(deal: dict[str, Any], amount: int | None = 1500, reason: str = "Only half was done.") -> Refund:
    """The funder asks for `amount` back (through the service; the views are tested on their own)."""
    return services.refund_request(job_id=deal["job"].pk, funder=deal["funder"], amount=amount, reason=reason)


def refund_attempt(refund: Refund, status: str, **fields: Any) -> PaymentAttempt:
    """An attempt paying `refund` back from the provider's wallet to the funder's, in `status`."""
    quote = refund.payment.quote
    values: dict[str, Any] = {
        "kind": AttemptKind.REFUND,
        "refund": refund,
        "sender_wallet": f"https://wallet.example/{quote.provider.username}",
        "receiver_wallet": f"https://wallet.example/{refund.job.funder.username}",
    }
    if status != AttemptStatus.GENERATING:
        values.update(
            payment_url=REFUND_LINK,
            debit_amount=refund.amount_value,
            receive_amount=refund.amount_value,
            incoming_amount=refund.amount_value,
        )
    values.update(fields)
    return f.attempt(quote, status, **values)


def agreed(deal: dict[str, Any], status: str, amount: int = 1500, **fields: Any) -> PaymentAttempt:
    """A refund of `amount` the provider agreed to, its attempt in `status` (a refund paid back is counted
    on its job as the state machine would)."""
    refund = ask(deal, amount)
    Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.AGREED, decided_at=timezone.now())
    attempt = refund_attempt(refund, status, **fields)
    if status == AttemptStatus.SUCCEEDED:
        Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.REFUNDED, refunded_at=timezone.now())
        Job.objects.filter(pk=refund.job_id).update(refunded_amount=amount)
    return attempt


def snapshot(job: Job) -> dict[str, object]:
    """Everything a refund action could change: the job's sums, its refunds and its attempts."""
    job.refresh_from_db()
    return {
        "job": (job.status, job.paid_amount, job.refunds_committed, job.refunded_amount),
        "refunds": list(
            Refund.objects.order_by("pk").values_list("pk", "status", "amount_value", "decline_reason")
        ),
        "attempts": list(PaymentAttempt.objects.order_by("created_at").values_list("pk", "kind", "status")),
    }


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.wsgi_request._messages]


def page(deal: dict[str, Any], who: str) -> str:
    response = f.logged_in(deal[who]).get(reverse("job-detail", kwargs={"job_id": deal["job"].pk}))
    assert response.status_code == 200
    return str(response.content.decode())


def panel(deal: dict[str, Any], who: str, shown: str | None = None) -> str:
    url = reverse("refunds-panel", kwargs={"job_id": deal["job"].pk})
    if shown is not None:
        url += f"?shown={urlquote(shown)}"
    response = f.logged_in(deal[who]).get(url, headers=HTMX)
    assert response.status_code == 200
    return str(response.content.decode())


def request_url(job: Job) -> str:
    return reverse("refund-request", kwargs={"job_id": job.pk})


def offer_url(job: Job) -> str:
    return reverse("refund-offer", kwargs={"job_id": job.pk})


def refund_url(name: str, refund: Refund) -> str:
    return reverse(name, kwargs={"refund_id": refund.pk})


# The funder asks


def test_the_funder_asks_for_part_of_the_payment_back(paid, tasks):
    # given
    client = f.logged_in(paid["funder"])
    # when
    response = client.post(
        request_url(paid["job"]), {"refund-amount": "15.00", "refund-reason": "Half done."}
    )
    # then a request waits for the provider, counted against what is left; nothing moves yet
    refund = Refund.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{paid['job'].pk}"
    assert messages_of(response) == ["Refund requested. The provider answers here, and you will see it."]
    assert (refund.status, refund.amount_value, refund.asset_code, refund.reason) == (
        "requested",
        1500,
        "USD",
        "Half done.",
    )
    assert snapshot(paid["job"])["job"] == ("paid", 4500, 1500, 0)
    f.assert_nothing_enqueued(tasks)


def test_a_blank_amount_asks_for_everything_still_refundable(paid, tasks):
    # given $15.00 already asked for
    ask(paid, 1500)
    # when the funder asks again without an amount
    f.logged_in(paid["funder"]).post(request_url(paid["job"]), {"refund-amount": "", "refund-reason": ""})
    # then the rest is asked for
    assert list(Refund.objects.order_by("pk").values_list("amount_value", flat=True)) == [1500, 3000]


def test_the_request_form_offers_what_is_left_in_the_asset_paid(paid):
    # given
    ask(paid, 1500)
    # when
    html = page(paid, "funder")
    # then
    assert "<h3>Ask for a refund</h3>" in html
    assert '<label for="id_refund-amount">Amount in USD</label>' in html
    assert 'placeholder="30.00"' in html
    assert "Leave it empty to refund everything still refundable: $30.00." in html
    assert "Refund the funder" not in html


def test_a_request_above_what_is_left_is_refused_and_changes_nothing(paid, tasks):
    # given
    ask(paid, 1500)
    before = snapshot(paid["job"])
    # when the funder asks for more than the $30.00 left
    response = f.logged_in(paid["funder"]).post(request_url(paid["job"]), {"refund-amount": "30.01"})
    # then
    assert response.status_code == 302
    assert messages_of(response) == ["At most $30.00 can still be refunded on this job."]
    assert snapshot(paid["job"]) == before
    f.assert_nothing_enqueued(tasks)


def test_an_amount_with_too_many_decimals_shows_the_form_again_and_changes_nothing(paid, tasks):
    # given
    before = snapshot(paid["job"])
    # when
    response = f.logged_in(paid["funder"]).post(request_url(paid["job"]), {"refund-amount": "1.005"})
    # then the page shows what was typed and why it is wrong
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        '<ul class="errorlist" id="id_refund-amount_error">'
        "<li>Use at most 2 decimal places for USD.</li></ul>" in html
    )
    assert 'value="1.005"' in html
    assert snapshot(paid["job"]) == before
    f.assert_nothing_enqueued(tasks)


def test_the_provider_cannot_ask_for_a_refund(paid, tasks):
    # given
    before = snapshot(paid["job"])
    # when the provider posts the funder's request
    response = f.logged_in(paid["provider"]).post(request_url(paid["job"]), {"refund-amount": "5.00"})
    # then
    assert response.status_code == 302
    assert messages_of(response) == [services.ONLY_FUNDER_ASKS]
    assert snapshot(paid["job"]) == before
    f.assert_nothing_enqueued(tasks)


def test_a_refund_on_an_unpaid_job_is_refused(tasks):
    # given a job not paid yet
    funder = f.funder()
    job = f.job(funder)
    f.quote(job, f.provider())
    # when its funder asks for a refund
    response = f.logged_in(funder).post(request_url(job), {"refund-amount": "5.00"})
    # then
    assert response.status_code == 302
    assert messages_of(response) == [services.NOT_PAID]
    assert Refund.objects.count() == 0
    job.refresh_from_db()
    assert (job.status, job.refunds_committed) == ("open", 0)
    f.assert_nothing_enqueued(tasks)


def test_an_unpaid_job_has_no_refunds_section(tasks):
    # given
    funder = f.funder()
    job = f.job(funder)
    # when
    html = f.logged_in(funder).get(reverse("job-detail", kwargs={"job_id": job.pk})).content.decode()
    # then
    assert 'id="refunds"' not in html
    assert f.logged_in(funder).get(reverse("refunds-panel", kwargs={"job_id": job.pk})).status_code == 404


# Strangers


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", lambda deal, refund: reverse("refunds-panel", kwargs={"job_id": deal["job"].pk})),
        ("post", lambda deal, refund: request_url(deal["job"])),
        ("post", lambda deal, refund: offer_url(deal["job"])),
        ("post", lambda deal, refund: refund_url("refund-agree", refund)),
        ("post", lambda deal, refund: refund_url("refund-decline", refund)),
        ("post", lambda deal, refund: refund_url("refund-cancel", refund)),
        ("post", lambda deal, refund: "/refunds/999999/agree"),
    ],
)
def test_a_stranger_gets_404_for_every_refund_url_and_changes_nothing(paid, tasks, method, url):
    # given a refund asked for
    refund = ask(paid)
    before = snapshot(paid["job"])
    # when a third user calls the URL
    response = getattr(f.logged_in(paid["stranger"]), method)(
        url(paid, refund), {"refund-amount": "1.00", "offer-amount": "1.00", "reason": "x"}
    )
    # then
    assert response.status_code == 404
    assert snapshot(paid["job"]) == before
    f.assert_nothing_enqueued(tasks)


def test_a_stranger_sees_no_refund_on_their_waiting_page(paid):
    # given
    ask(paid)
    # when
    response = f.logged_in(paid["stranger"]).get(reverse("refunds-waiting"))
    # then
    assert response.status_code == 200
    assert "Nothing is waiting for you." in response.content.decode()
    assert "Refund of" not in response.content.decode()


def test_the_funder_cannot_agree_to_their_own_request(paid, tasks):
    # given
    refund = ask(paid)
    before = snapshot(paid["job"])
    # when
    response = f.logged_in(paid["funder"]).post(refund_url("refund-agree", refund))
    # then
    assert response.status_code == 404
    assert snapshot(paid["job"]) == before
    f.assert_nothing_enqueued(tasks)


# The provider answers


def test_the_provider_agrees_and_one_refund_link_is_prepared(paid, tasks):
    # given
    refund = ask(paid)
    client = f.logged_in(paid["provider"])
    # when
    response = client.post(refund_url("refund-agree", refund))
    # then
    attempt = PaymentAttempt.objects.get(kind=AttemptKind.REFUND)
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{paid['job'].pk}"
    assert messages_of(response) == ["Refund agreed. Preparing the refund link at your wallet…"]
    assert (attempt.refund_id, attempt.status, attempt.sender_wallet, attempt.receiver_wallet) == (
        refund.pk,
        "generating",
        "https://wallet.example/pavel",
        "https://wallet.example/fiona",
    )
    refund.refresh_from_db()
    assert refund.status == "agreed"
    tasks.generate_link.assert_called_once_with(str(attempt.pk))
    for other in ("continue_grant", "poll", "cancel_grant"):
        getattr(tasks, other).assert_not_called()
    assert client.session[one_click.SESSION_KEY] == str(attempt.pk)


def test_a_double_click_on_agree_creates_one_attempt(paid, tasks):
    # given
    refund = ask(paid)
    client = f.logged_in(paid["provider"])
    client.post(refund_url("refund-agree", refund), follow=True)
    # when the second click arrives
    response = client.post(refund_url("refund-agree", refund))
    # then
    attempt = PaymentAttempt.objects.get(kind=AttemptKind.REFUND)
    assert response.status_code == 302
    assert messages_of(response) == [services.REFUND_IN_PROGRESS]
    tasks.generate_link.assert_called_once_with(str(attempt.pk))


def test_the_provider_declines_and_the_funder_reads_why(paid, tasks):
    # given
    refund = ask(paid)
    # when
    response = f.logged_in(paid["provider"]).post(
        refund_url("refund-decline", refund), {"reason": "The work was delivered in full."}
    )
    # then
    assert response.status_code == 302
    assert messages_of(response) == ["Refund declined. The funder sees your reason."]
    refund.refresh_from_db()
    assert (refund.status, refund.decline_reason) == ("declined", "The work was delivered in full.")
    assert snapshot(paid["job"])["job"] == ("paid", 4500, 0, 0)
    html = page(paid, "funder")
    assert '<p class="panel-error">The provider declined: The work was delivered in full.</p>' in html
    assert "Nothing was sent. You can ask again." in html
    f.assert_nothing_enqueued(tasks)


def test_a_refund_being_paid_cannot_be_declined(paid, tasks):
    # given
    attempt = agreed(paid, AttemptStatus.PROCESSING)
    before = snapshot(paid["job"])
    # when
    response = f.logged_in(paid["provider"]).post(
        refund_url("refund-decline", attempt.refund), {"reason": "No"}
    )
    # then
    assert messages_of(response) == [services.REFUND_NOT_DECLINABLE]
    assert snapshot(paid["job"]) == before
    f.assert_nothing_enqueued(tasks)


def test_the_funder_withdraws_an_unanswered_request(paid, tasks):
    # given
    refund = ask(paid)
    # when
    response = f.logged_in(paid["funder"]).post(refund_url("refund-cancel", refund))
    # then
    assert messages_of(response) == ["Refund request withdrawn."]
    refund.refresh_from_db()
    assert refund.status == "cancelled"
    assert snapshot(paid["job"])["job"] == ("paid", 4500, 0, 0)
    f.assert_nothing_enqueued(tasks)


def test_an_agreed_request_can_no_longer_be_withdrawn(paid, tasks):
    # given
    attempt = agreed(paid, AttemptStatus.GENERATING)
    before = snapshot(paid["job"])
    # when
    response = f.logged_in(paid["funder"]).post(refund_url("refund-cancel", attempt.refund))
    # then
    assert messages_of(response) == [services.REFUND_NOT_OPEN]
    assert snapshot(paid["job"]) == before


def test_the_provider_offers_a_refund_and_its_link_is_prepared(paid, tasks):
    # given
    client = f.logged_in(paid["provider"])
    assert "<h3>Refund the funder</h3>" in page(paid, "provider")
    # when
    response = client.post(offer_url(paid["job"]), {"offer-amount": "10", "offer-reason": "Late delivery."})
    # then
    refund = Refund.objects.get()
    attempt = PaymentAttempt.objects.get(kind=AttemptKind.REFUND)
    assert messages_of(response) == ["Refund started. Preparing the refund link at your wallet…"]
    assert (refund.status, refund.amount_value, refund.reason, refund.by_provider) == (
        "agreed",
        1000,
        "Late delivery.",
        True,
    )
    tasks.generate_link.assert_called_once_with(str(attempt.pk))


# The refunds section, state by state


def test_a_requested_refund_as_each_side_sees_it(paid):
    # given
    refund = ask(paid)
    # when
    funder, provider = page(paid, "funder"), page(paid, "provider")
    # then the funder waits (the section polls), and may withdraw
    assert "Waiting for the provider to answer" in funder
    assert f'hx-get="/jobs/{paid["job"].pk}/refunds-panel?shown={refund.pk}%3Arequested"' in funder
    assert 'hx-trigger="every 10s"' in funder
    assert "Withdraw the request" in funder
    assert "Agree and refund" not in funder
    # and the provider answers (their section does not poll under the reason they type)
    assert "The funder asks for a refund" in provider
    assert "<strong>Reason:</strong> Only half was done." in provider
    assert "Agree and refund $15.00</button>" in provider
    assert (
        f'<label for="decline-reason-{refund.pk}">Why you decline (the funder reads it)</label>' in provider
    )
    assert "refunds-panel?shown" not in provider
    assert "Withdraw the request" not in provider


def test_a_refund_link_being_prepared_polls_every_2s(paid):
    # given
    agreed(paid, AttemptStatus.GENERATING)
    # when
    html = panel(paid, "provider")
    # then
    assert 'hx-trigger="every 2s"' in html
    assert "Preparing the refund link…" in html
    assert "We are preparing the refund at your wallet." in html


def test_the_refund_link_is_the_providers_alone(paid):
    # given
    attempt = agreed(paid, AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    provider, funder = panel(paid, "provider"), panel(paid, "funder")
    # then the provider gets the link, the amounts, a named QR code and Cancel
    assert "Your refund link is ready" in provider
    assert f'href="{REFUND_LINK}" rel="noopener noreferrer">Complete refund</a>' in provider
    assert "<dt>You send</dt><dd>$15.00</dd>" in provider
    assert "<dt>Funder receives</dt><dd>$15.00</dd>" in provider
    assert "<title>QR code of the refund link</title>" in provider
    assert f'action="/payments/{attempt.pk}/cancel"' in provider
    assert 'hx-trigger="every 5s"' in provider
    # and the funder waits for the provider's wallet, without the link
    assert "Waiting for the provider to approve the refund in their wallet" in funder
    assert "<dt>You receive</dt><dd>$15.00</dd>" in funder
    assert REFUND_LINK not in funder
    assert "Cancel refund link" not in funder


def test_a_refund_link_that_ended_unpaid_offers_a_new_link_to_the_provider(paid, tasks):
    # given
    attempt = agreed(paid, AttemptStatus.EXPIRED, error="The refund link expired before it was approved.")
    # when
    provider, funder = panel(paid, "provider"), panel(paid, "funder")
    # then
    assert "Refund link expired" in provider
    assert '<p class="panel-error">The refund link expired before it was approved.</p>' in provider
    assert "Get a new link</button>" in provider
    assert "Decline</button>" in provider
    assert "The provider can get a new link and try again." in funder
    assert "Get a new link" not in funder
    # when the provider gets a new link
    response = f.logged_in(paid["provider"]).post(refund_url("refund-agree", attempt.refund))
    # then a second attempt starts
    new = PaymentAttempt.objects.filter(kind=AttemptKind.REFUND).exclude(pk=attempt.pk).get()
    assert response.status_code == 302
    assert new.status == "generating"
    tasks.generate_link.assert_called_once_with(str(new.pk))


def test_a_paid_back_refund_shows_its_receipt_and_stops_polling(paid):
    # given
    agreed(paid, AttemptStatus.SUCCEEDED, received_amount=1500)
    # when
    for who in ("funder", "provider"):
        html = panel(paid, who)
        # then both sides see what left the provider's wallet and what reached the funder's
        assert "<dt>Left the provider's wallet</dt><dd>$15.00</dd>" in html
        assert "<dt>Reached the funder's wallet</dt><dd>$15.00</dd>" in html
        assert "<code>https://wallet.example/pavel</code>" in html
        assert "hx-trigger" not in html
        # and the header's badge says how much came back
        expected = '<span id="job-badge" hx-swap-oob="true" class="badge badge-large badge-refunded">'
        assert f"{expected}Partly refunded: $15.00 of $45.00</span>" in html


def test_the_badges_say_refunded_in_part_then_in_full(paid):
    # given $15.00 refunded
    agreed(paid, AttemptStatus.SUCCEEDED)
    list_url = reverse("job-list")
    partly = "Partly refunded: $15.00 of $45.00</span>"
    # then the job page and the job list say so
    assert f'class="badge badge-large badge-refunded">{partly}' in page(paid, "funder")
    listed = f.logged_in(paid["funder"]).get(list_url).content.decode()
    assert f'<span class="badge badge-refunded">{partly}' in listed
    # when the rest is refunded
    Job.objects.filter(pk=paid["job"].pk).update(refunded_amount=4500, refunds_committed=4500)
    # then
    assert 'class="badge badge-large badge-refunded">Refunded</span>' in page(paid, "provider")
    listed = f.logged_in(paid["funder"]).get(list_url).content.decode()
    assert '<span class="badge badge-refunded">Refunded</span>' in listed


def test_the_history_lists_payments_and_refunds_in_one_timeline(paid):
    # given
    agreed(paid, AttemptStatus.SUCCEEDED)
    # when
    for who in ("funder", "provider"):
        html = page(paid, who)
        # then
        assert '<h2 id="attempts-heading">Payments and refunds</h2>' in html
        kinds = [part.split("</span>")[0] for part in html.split('<span class="attempt-kind">')[1:]]
        assert kinds == ["Refund", "Payment"]
        assert '<span class="badge badge-paid">Refunded</span>' in html
        assert '<span class="badge badge-paid">Paid</span>' in html


def test_a_poll_carries_the_history_and_an_announcement_only_when_something_changed(paid):
    # given
    attempt = agreed(paid, AttemptStatus.PROCESSING)
    # when the page last showed the refund awaiting the wallet
    changed = panel(paid, "funder", shown=f"{attempt.refund_id}:awaiting_authorization")
    same = panel(paid, "funder", shown=f"{attempt.refund_id}:processing")
    # then
    assert '<span id="refund-announcer" hx-swap-oob="innerHTML">Refund: Processing refund…</span>' in changed
    assert '<div id="attempts-history" hx-swap-oob="true">' in changed
    assert "refund-announcer" not in same
    assert "attempts-history" not in same


def test_the_provider_who_agreed_is_sent_to_their_wallet_once(paid):
    # given the provider agreed in this browser and the link is ready
    refund = ask(paid)
    client = f.logged_in(paid["provider"])
    client.post(refund_url("refund-agree", refund))
    PaymentAttempt.objects.filter(kind=AttemptKind.REFUND).update(
        status=AttemptStatus.AWAITING_AUTHORIZATION, payment_url=REFUND_LINK
    )
    url = reverse("refunds-panel", kwargs={"job_id": paid["job"].pk})
    # when the section polls twice
    first, second = client.get(url, headers=HTMX), client.get(url, headers=HTMX)
    # then
    assert first["HX-Redirect"] == REFUND_LINK
    assert "HX-Redirect" not in second


# What waits for the provider


def test_the_waiting_page_lists_what_the_provider_has_to_do(paid):
    # given one request to answer, one link to approve and one refund on its way
    asked = ask(paid, 500)
    agreed(paid, AttemptStatus.AWAITING_AUTHORIZATION, amount=600)
    agreed(paid, AttemptStatus.PROCESSING, amount=700)
    client = f.logged_in(paid["provider"])
    # when
    html = client.get(reverse("refunds-waiting")).content.decode()
    # then
    to_do, moving = html.split('<h2 id="moving-heading">On their way</h2>')
    assert "Refund of $5.00" in to_do
    assert f'action="/refunds/{asked.pk}/agree"' in to_do
    assert "Refund of $6.00" in to_do
    assert "Complete refund</a>" in to_do
    assert "Refund of $7.00" in moving
    assert f'<a href="/jobs/{paid["job"].pk}">Translate the README</a>' in to_do
    # and the nav counts the two waiting for them
    nav = 'Refunds <span class="badge badge-awaiting">2</span><span class="visually-hidden"> waiting for you'
    assert nav in html


def test_the_funder_has_no_refunds_link_in_the_nav(paid):
    ask(paid)
    assert 'href="/refunds"' not in page(paid, "funder")


def test_a_refund_its_wallet_failed_speaks_to_the_provider_and_tells_the_funder_the_outcome(paid):
    # given the provider's wallet refused to send the refund
    words = "Your wallet refused to send $15.00 and nothing left your wallet. Check your wallet."
    agreed(paid, AttemptStatus.FAILED, error=words)
    # when
    provider, funder = page(paid, "provider"), page(paid, "funder")
    # then the provider reads about their wallet; the funder reads what happened, not "your wallet"
    assert f'<p class="attempt-error">{words}</p>' in provider
    assert '<p class="attempt-error">The refund failed.</p>' in funder
    assert "Your wallet refused" not in funder
