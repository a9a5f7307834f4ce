"""The emails of the moments people need to act or know (worker.emails): link ready, paid, refund requested,
refunded; each once, to people with an address only, and never with a token or a key in it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from typing import Any
from unittest.mock import patch

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from jobs import services, states
from jobs.models import AttemptStatus, EmailNotice, Job, PaymentAttempt, PaymentEvent, Quote
from jobs.presenters import receipt_number
from tests.jobs import factories as f
from worker import emails, events

pytestmark = pytest.mark.django_db

PAYMENT_LINK_SECRET = "ABCDEF0123456789"  # the interaction's part of the factories' payment_url


@pytest.fixture(autouse=True)
def sending() -> Iterator[None]:
    """`emails.send` runs at once, in the test (as a worker would after commit)."""
    with patch.object(emails.send, "delay", side_effect=emails.deliver):
        yield


def handle(*, times: int = 1) -> None:
    """Hands every event to the emails consumer (`times` over), running what it enqueues after commit."""
    for _ in range(times):
        for event in PaymentEvent.objects.order_by("id"):
            with_commit(partial(emails.notice, event))


def with_commit(call: Callable[[], object]) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        call()


def people(
    *, funder_email: str = "fiona@example.org", provider_email: str = "pavel@example.org"
) -> tuple[User, User]:
    funder, provider = f.funder(), f.provider()
    funder.email, provider.email = funder_email, provider_email
    funder.save()
    provider.save()
    return funder, provider


def paid_job() -> tuple[User, User, Quote]:
    """A job paid through the state machine (so every change is an event)."""
    funder, provider = people()
    quote = f.quote(f.job(funder), provider, amount_value=4500)
    attempt = f.attempt(quote, AttemptStatus.AWAITING_AUTHORIZATION, debit_amount=4600, receive_amount=4500)
    for status in ("authorized", "processing", "succeeded"):
        assert states.transition(attempt.pk, to=status, received_amount=4500, sent_amount=4500)
    return funder, provider, quote


def link_ready(funder: User | None = None, provider: User | None = None, **job_fields: Any) -> PaymentAttempt:
    """A payment link ready (its event written) for a funder who has not opened the job page."""
    if funder is None or provider is None:
        funder, provider = people()
    quote = f.quote(f.job(funder, **job_fields), provider)
    attempt = f.attempt(quote, AttemptStatus.AWAITING_AUTHORIZATION)
    states.attempt_event(attempt.pk, attempt.status, attempt)
    return attempt


def job_url(job_id: int) -> str:
    return f"{settings.PUBLIC_BASE_URL}/jobs/{job_id}"


def everything_sent() -> str:
    """Every subject, body and HTML part in the outbox, together."""
    parts: list[str] = []
    for message in mail.outbox:
        parts += [str(message.subject), str(message.body)]
        parts += [str(content) for content, _ in getattr(message, "alternatives", [])]
    return "\n".join(parts)


def test_the_funder_away_from_the_page_gets_the_link_ready_email_once() -> None:
    # given a payment link ready for a funder who is not on the job page
    attempt = link_ready()
    # when the event is handled, twice
    handle(times=2)
    # then one email, to the funder, points them at the job page with the amount
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert (message.subject, message.to) == (
        "Your payment link is ready: Translate the README",
        ["fiona@example.org"],
    )
    assert 'The payment link for "Translate the README" is ready.' in message.body
    assert "Amount: $13.00 (the provider receives $12.50)" in message.body
    assert f"Open the job: {job_url(attempt.job_id)}" in message.body
    html, kind = message.alternatives[0]  # type: ignore[attr-defined]
    assert kind == "text/html"
    assert f'href="{job_url(attempt.job_id)}"' in str(html)
    # and never the wallet's link itself
    assert attempt.payment_url not in everything_sent()
    assert PAYMENT_LINK_SECRET not in everything_sent()


def test_the_link_ready_email_is_not_sent_while_the_funder_is_on_the_page() -> None:
    # given a payment link ready, and the funder's browser polling the panel just now
    attempt = link_ready()
    funder = attempt.job.funder
    assert f.logged_in(funder).get(reverse("payment-panel", args=[attempt.job_id])).status_code == 200
    # when the event is handled
    handle()
    # then nothing is sent
    assert mail.outbox == []
    assert not EmailNotice.objects.exists()


def test_the_link_ready_email_is_sent_once_the_funder_left_the_page() -> None:
    # given a funder whose browser last polled the panel twenty seconds ago
    link_ready(funder_seen_at=timezone.now() - timedelta(seconds=20))
    # when the event is handled
    handle()
    # then they get the email
    assert [m.to for m in mail.outbox] == [["fiona@example.org"]]


def test_the_panel_notes_the_funder_only_now_and_then() -> None:
    # given a link ready and a funder polling the panel twice in a row
    attempt = link_ready()
    browser = f.logged_in(attempt.job.funder)
    browser.get(reverse("payment-panel", args=[attempt.job_id]))
    first = Job.objects.get(pk=attempt.job_id).funder_seen_at
    browser.get(reverse("payment-panel", args=[attempt.job_id]))
    # then the first poll is noted, the second (within PANEL_SEEN_EVERY) writes nothing
    assert first is not None
    assert Job.objects.get(pk=attempt.job_id).funder_seen_at == first
    # and a provider's poll is not the funder's
    other = f.provider("paula")
    f.quote(attempt.job, other)
    Job.objects.filter(pk=attempt.job_id).update(funder_seen_at=None)
    f.logged_in(other).get(reverse("payment-panel", args=[attempt.job_id]))
    assert Job.objects.get(pk=attempt.job_id).funder_seen_at is None


def test_a_link_already_used_when_the_event_is_handled_is_not_announced() -> None:
    # given a link ready, which the funder used before the event was handled
    attempt = link_ready()
    assert states.transition(attempt.pk, to=AttemptStatus.AUTHORIZED, interact_ref="SECRET-interact-ref-6666")
    # when the events are handled
    handle()
    # then no link-ready email
    assert mail.outbox == []


def test_a_paid_job_emails_the_funder_and_the_provider_once() -> None:
    # given a job paid through the state machine
    _, _, quote = paid_job()
    # when its events are handled, twice
    handle(times=2)
    # then the funder gets what they paid, the provider what they received, each once
    assert [(m.subject, m.to) for m in mail.outbox] == [
        ("Paid: Translate the README", ["fiona@example.org"]),
        ("Paid: Translate the README", ["pavel@example.org"]),
    ]
    to_funder, to_provider = (m.body for m in mail.outbox)
    number = receipt_number(PaymentAttempt.objects.get(quote=quote))
    receipt = f"The receipt: {job_url(quote.job_id)}/receipt"
    assert 'You paid pavel $45.00 for "Translate the README": the job is paid.' in to_funder
    assert "You paid: $46.00" in to_funder
    assert "pavel received: $45.00" in to_funder
    assert (
        'You were paid $45.00 by fiona for "Translate the README": the money is in your wallet.'
        in to_provider
    )
    assert "You received: $45.00" in to_provider
    for body in (to_funder, to_provider):
        assert f"Receipt number: {number}" in body
        assert receipt in body


def test_a_refund_request_emails_the_provider_and_its_payment_back_both() -> None:
    # given a paid job whose funder asks for 15.00 back
    funder, provider, quote = paid_job()
    handle()
    mail.outbox.clear()
    refund = services.refund_request(job_id=quote.job_id, funder=funder, amount=1500, reason="Half done")
    handle()
    # then the provider is asked
    assert [(m.subject, m.to) for m in mail.outbox] == [
        ("Refund requested: Translate the README", ["pavel@example.org"])
    ]
    body = mail.outbox[0].body
    assert 'The funder of "Translate the README" asks for a refund.' in body
    assert "Amount: $15.00" in body
    assert "Reason: Half done" in body
    assert job_url(quote.job_id) in body

    # when the provider agrees and pays it back
    mail.outbox.clear()
    attempt = services.refund_agree(refund_id=refund.pk, provider=provider).attempt
    for status in ("awaiting_authorization", "authorized", "processing", "succeeded"):
        assert states.transition(attempt.pk, to=status, received_amount=1500)
    handle(times=2)
    # then both hear it is refunded, once
    assert [(m.subject, m.to) for m in mail.outbox] == [
        ("Refunded: Translate the README", ["fiona@example.org"]),
        ("Refunded: Translate the README", ["pavel@example.org"]),
    ]
    to_funder, to_provider = (m.body for m in mail.outbox)
    assert 'Your refund for "Translate the README" is paid back to your wallet.' in to_funder
    assert 'You paid back the refund for "Translate the README".' in to_provider
    assert "Amount: $15.00" in to_funder


def test_a_refund_the_provider_offers_asks_nobody() -> None:
    # given a paid job whose provider sends money back on their own
    _, provider, quote = paid_job()
    handle()
    mail.outbox.clear()
    services.refund_offer(job_id=quote.job_id, provider=provider, amount=1000, reason="")
    # when the events are handled
    handle()
    # then no "refund requested" email
    assert mail.outbox == []


def test_nobody_without_an_address_is_emailed() -> None:
    # given a paid job, the funder without an email address
    funder, provider = people(funder_email="")
    quote = f.quote(f.job(funder), provider)
    attempt = f.attempt(quote, AttemptStatus.PROCESSING)
    assert states.transition(attempt.pk, to="succeeded", received_amount=1250)
    # when the events are handled
    handle()
    # then only the provider gets an email
    assert [m.to for m in mail.outbox] == [["pavel@example.org"]]
    assert EmailNotice.objects.filter(recipient=funder).count() == 0


def test_an_address_removed_before_sending_sends_nothing() -> None:
    # given a notice written for a funder who then removes their address
    attempt = link_ready()
    with patch.object(emails.send, "delay"):
        handle()
    notice = EmailNotice.objects.get()
    type(attempt.job.funder).objects.filter(pk=attempt.job.funder_id).update(email="")
    # when the task runs
    emails.deliver(notice.pk)
    # then nothing is sent, and the notice is done with
    assert mail.outbox == []
    assert EmailNotice.objects.get().sent_at is not None


def test_a_task_delivered_twice_sends_once() -> None:
    # given a notice
    link_ready()
    with patch.object(emails.send, "delay"):
        handle()
    notice = EmailNotice.objects.get()
    # when its task runs twice
    assert emails.deliver(notice.pk) is True
    assert emails.deliver(notice.pk) is False
    # then one email
    assert len(mail.outbox) == 1


def test_the_dispatcher_hands_the_events_to_the_emails_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a paid job and the emails consumer registered with the dispatcher
    paid_job()
    assert events.CONSUMERS["emails"] is emails.notice
    monkeypatch.setattr(events, "CONSUMERS", {"emails": emails.notice})
    monkeypatch.setattr(events, "SETTLE_SECONDS", 0.0)
    # when beat's dispatch runs twice
    with_commit(events.dispatch)
    with_commit(events.dispatch)
    # then the paid emails went out once
    assert [m.subject for m in mail.outbox] == ["Paid: Translate the README"] * 2


def test_no_email_holds_a_token_a_nonce_or_a_key() -> None:
    # given every kind of email, for people who also hold an API key
    funder, provider, quote = paid_job()
    keys = [services.api_token_create(user=person).key for person in (funder, provider)]
    refund = services.refund_request(job_id=quote.job_id, funder=funder, amount=1500, reason="")
    attempt = services.refund_agree(refund_id=refund.pk, provider=provider).attempt
    for status in ("awaiting_authorization", "authorized", "processing", "succeeded"):
        assert states.transition(attempt.pk, to=status, received_amount=1500)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(**f.SECRETS)
    link_attempt = link_ready(funder, provider, title="Another job")
    handle()
    # then none of them holds a secret
    assert {m.subject.split(":")[0] for m in mail.outbox} == {
        "Paid",
        "Refund requested",
        "Refunded",
        "Your payment link is ready",
    }
    sent = everything_sent()
    assert "SECRET-" not in sent
    assert PAYMENT_LINK_SECRET not in sent and link_attempt.payment_url not in sent
    for key in keys:
        assert key not in sent
    for secret in f.SECRETS.values():
        assert secret not in sent


# The address: optional at sign-up and on the profile.


def test_sign_up_keeps_the_email_address_given() -> None:
    # given the sign-up form with an address
    form = {
        "username": "alice",
        "email": "alice@example.org",
        "password1": f.PASSWORD,
        "password2": f.PASSWORD,
    }
    # when it is sent
    response = Client().post(reverse("signup"), {**form, "roles": "funder"})
    # then the account has it
    assert response.status_code == 302
    assert User.objects.get(username="alice").email == "alice@example.org"


def test_sign_up_needs_an_email_address_and_a_malformed_one_is_refused() -> None:
    # given the sign-up page, which offers the field
    assert 'name="email"' in Client().get(reverse("signup")).content.decode()
    base = {
        "username": "bob",
        "email": "bob@example.org",
        "password1": f.PASSWORD,
        "password2": f.PASSWORD,
        "roles": "funder",
    }
    # when sent with an address, then with a malformed one
    assert Client().post(reverse("signup"), base).status_code == 302
    refused = Client().post(reverse("signup"), {**base, "username": "carol", "email": "not-an-address"})
    # then the first is an account with its address, the second is refused on the field
    assert User.objects.get(username="bob").email == "bob@example.org"
    assert refused.status_code == 200
    assert 'id="id_email_error"' in refused.content.decode()
    assert not User.objects.filter(username="carol").exists()


def test_the_profile_shows_saves_and_clears_the_email_address() -> None:
    # given a funder with an address
    fiona, _ = people()
    browser = f.logged_in(fiona)
    assert 'value="fiona@example.org"' in browser.get(reverse("profile")).content.decode()
    profile = {"is_funder": "on", "wallet_address": "https://wallet.example/fiona"}
    # when they change it, then clear it
    assert browser.post(reverse("profile"), {**profile, "email": "f@example.net"}).status_code == 302
    changed = User.objects.get(pk=fiona.pk).email
    assert browser.post(reverse("profile"), {**profile, "email": ""}).status_code == 302
    # then each is saved
    assert (changed, User.objects.get(pk=fiona.pk).email) == ("f@example.net", "")


def test_an_email_whose_message_was_lost_is_sent_by_the_sweep_once() -> None:
    # given three paid-job notices owed: one written a moment ago, one whose message was lost 20 minutes
    # ago, one lost two days ago (given up)
    funder, provider, _ = paid_job()
    event = PaymentEvent.objects.order_by("id").last()
    assert event is not None
    staff = f.user("sam")
    staff.email = "sam@example.org"
    staff.save()
    owed = [
        EmailNotice.objects.create(event=event, recipient=person, kind=EmailNotice.Kind.PAID)
        for person in (funder, provider, staff)
    ]
    now = timezone.now()
    EmailNotice.objects.filter(pk=owed[1].pk).update(created_at=now - timedelta(minutes=20))
    EmailNotice.objects.filter(pk=owed[2].pk).update(created_at=now - timedelta(days=2))
    before = len(mail.outbox)
    # when the sweep runs twice
    swept = emails.sweep(), emails.sweep()
    # then only the lost one was sent, once
    assert swept == (1, 0)
    assert [m.to for m in mail.outbox[before:]] == [["pavel@example.org"]]
    assert list(
        EmailNotice.objects.filter(sent_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    ) == [
        owed[0].pk,
        owed[2].pk,
    ]
