"""Emails for the moments people need to act or know, turned from the payment events by the consumer
`emails` and sent one by one by the task `emails.send` (which takes the notice's id only).

| Event | Email | To |
| --- | --- | --- |
| `payment.awaiting_authorization` | the payment link is ready | the funder, when not on the job page |
| `payment.succeeded` | the job is paid | the funder and the provider |
| `refund.requested` | a refund is asked for | the provider |
| `refund.refunded` | the refund is paid back | the funder and the provider |

"Not on the job page": the funder's browser has not polled the payment panel for AWAY_SECONDS when the
event is handled (`Job.funder_seen_at`; the panel polls every 2 to 5 s while a payment is live). A person
without an email address gets nothing. Messages link to the job page and carry the job's title and the
amounts; never a token, a nonce, an interaction reference or the wallet's payment link.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from celery import Task, shared_task
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from jobs import presenters
from jobs.models import AttemptStatus, EmailNotice, PaymentEvent
from jobs.money import Money
from worker import events

log = logging.getLogger("worker.emails")

K = EmailNotice.Kind
# An event type → the email it makes.
KINDS: dict[str, str] = {
    "payment.awaiting_authorization": K.LINK_READY,
    "payment.succeeded": K.PAID,
    "refund.requested": K.REFUND_REQUESTED,
    "refund.refunded": K.REFUNDED,
}
# The funder counts as away from the job page when their browser has not polled it for this long.
AWAY_SECONDS = 15
# Sending retries (an SMTP server down or refusing for a while), after 30 s, 1 min, 2 min, …
SEND_RETRIES = 6


@events.consumer("emails")
def notice(event: PaymentEvent) -> None:
    """Records the emails `event` makes (once per person, whatever happens twice) and sends each after
    commit."""
    kind = KINDS.get(event.type)
    if kind is None:
        return
    for recipient in recipients(event, kind):
        written, created = EmailNotice.objects.get_or_create(
            event=event, recipient=recipient, defaults={"kind": kind}
        )
        if created:
            transaction.on_commit(partial(enqueue, written.pk))


def recipients(event: PaymentEvent, kind: str) -> list[User]:
    """Who gets the email `kind` about `event`: only people with an address, the funder of a link ready
    only when they are away from the job page and the link still waits for them."""
    job = event.job
    if kind == K.LINK_READY:
        attempt = event.attempt
        if attempt is None or attempt.status != AttemptStatus.AWAITING_AUTHORIZATION:
            return []  # already used, cancelled or expired by the time we got to it
        away_since = timezone.now() - timedelta(seconds=AWAY_SECONDS)
        if job.funder_seen_at is not None and job.funder_seen_at > away_since:
            return []
        people = [job.funder]
    elif kind == K.REFUND_REQUESTED:
        refund = event.refund
        people = [] if refund is None else [refund.payment.quote.provider]
    else:
        attempt = event.attempt if kind == K.PAID else (event.refund.payment if event.refund else None)
        people = [] if attempt is None else [job.funder, attempt.quote.provider]
    return [person for person in people if person.email]


def enqueue(notice_id: int) -> None:
    """Hands the notice to a worker; a broker that is down leaves it unsent (logged)."""
    try:
        send.delay(notice_id)
    except Exception as exc:  # kombu and redis raise many kinds of connection errors
        log.warning("broker unavailable, email %s not sent: %s", notice_id, type(exc).__name__)


# A notice still unsent this long after it was written lost its message (a broker outage when it was
# enqueued, a worker killed past its retries): beat sends it again, for a day.
SWEEP_AFTER = timedelta(minutes=15)
SWEEP_FOR = timedelta(days=1)
SWEEP_BATCH = 500


def sweep() -> int:
    """Enqueues the notices whose email is owed and whose message was lost; how many."""
    now = timezone.now()
    lost = EmailNotice.objects.filter(
        sent_at__isnull=True, created_at__lt=now - SWEEP_AFTER, created_at__gt=now - SWEEP_FOR
    )
    ids = list(lost.order_by("created_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    for notice_id in ids:
        enqueue(notice_id)
    return len(ids)


@shared_task(name="emails.sweep", ignore_result=True)
def sweep_task() -> int:
    """Beat's safety net for emails whose message was lost."""
    return sweep()


@shared_task(name="emails.send", bind=True, ignore_result=True, acks_late=True, max_retries=SEND_RETRIES)
def send(self: Task[..., None], notice_id: int) -> None:
    """Sends the email of one notice, once; retried while the mail server fails."""
    try:
        deliver(notice_id)
    except (OSError, smtplib.SMTPException) as exc:
        countdown = 30 * 2**self.request.retries
        log.warning("email %s not sent, retrying in %ss: %s", notice_id, countdown, type(exc).__name__)
        raise self.retry(exc=exc, countdown=countdown) from None


def deliver(notice_id: int) -> bool:
    """Sends the notice's email unless it was sent already (the row is locked meanwhile, so two
    deliveries of the task send it once); True when this call sent it."""
    with transaction.atomic():
        pending = EmailNotice.objects.select_for_update().filter(pk=notice_id, sent_at__isnull=True)
        if not pending.exists():
            return False
        written = EmailNotice.objects.select_related(
            "recipient",
            "event__job",
            "event__attempt__quote",
            "event__refund__payment__quote",
        ).get(pk=notice_id)
        sent = bool(written.recipient.email)
        if sent:
            message(written).send()
        EmailNotice.objects.filter(pk=notice_id).update(sent_at=timezone.now())
    return sent


@dataclass(frozen=True)
class Email:
    subject: str
    template: str
    context: dict[str, object]


def message(written: EmailNotice) -> EmailMultiAlternatives:
    """The notice's email: plain text, with the same words as simple HTML."""
    email = compose(written)
    context = {**email.context, "recipient": presenters.display_name(written.recipient)}
    text = render_to_string(f"emails/{email.template}.txt", context)
    html = render_to_string(f"emails/{email.template}.html", context)
    mail = EmailMultiAlternatives(email.subject, text, to=[written.recipient.email])
    mail.attach_alternative(html, "text/html")
    return mail


def compose(written: EmailNotice) -> Email:
    """Subject, template and what it shows, for the notice's kind and recipient."""
    event, person = written.event, written.recipient
    job = event.job
    title = " ".join(job.title.split())  # one line, as a subject must be
    context: dict[str, object] = {
        "job_title": title,
        "job_url": settings.PUBLIC_BASE_URL + reverse("job-detail", args=[job.pk]),
        "to_funder": person.pk == job.funder_id,
    }
    if written.kind in (K.LINK_READY, K.PAID):
        attempt = event.attempt
        assert attempt is not None  # payment events have their attempt
        context["debit"] = presenters.attempt_debit(attempt)
        context["price"] = Money(
            attempt.quote.amount_value, attempt.quote.asset_code, attempt.quote.asset_scale
        )
        if written.kind == K.LINK_READY:
            return Email(f"Your payment link is ready: {title}", "link_ready", context)
        received = attempt.received_amount
        context["received"] = (
            Money(received, attempt.receive_asset_code, attempt.receive_asset_scale)
            if received is not None and attempt.receive_asset_scale is not None
            else presenters.attempt_receive(attempt) or context["price"]
        )
        context["payer"] = presenters.display_name(job.funder)
        context["payee"] = presenters.display_name(attempt.quote.provider)
        context["receipt_number"] = presenters.receipt_number(attempt)
        context["receipt_url"] = settings.PUBLIC_BASE_URL + reverse("receipt", args=[job.pk])
        return Email(f"Paid: {title}", "paid", context)
    refund = event.refund
    assert refund is not None  # refund events have their refund
    context["amount"] = Money(refund.amount_value, refund.asset_code, refund.asset_scale)
    context["reason"] = refund.reason
    if written.kind == K.REFUND_REQUESTED:
        return Email(f"Refund requested: {title}", "refund_requested", context)
    return Email(f"Refunded: {title}", "refunded", context)
