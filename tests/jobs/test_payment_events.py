"""Every status change of a payment attempt or a refund is recorded as a PaymentEvent in the same
transaction, in order: the outbox that webhooks, emails and metrics read."""

from __future__ import annotations

import pytest
from django.db import transaction

from jobs import services, states
from jobs.models import AttemptStatus, Job, PaymentAttempt, PaymentEvent
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db


def events() -> list[tuple[str, str]]:
    return list(PaymentEvent.objects.order_by("id").values_list("type", "status"))


def test_a_payment_and_its_refund_leave_one_event_per_status_change_in_order() -> None:
    # given a funder who approves a quote
    funder = f.funder()
    quote = f.quote(f.job(funder), f.provider(), amount_value=4500)
    attempt = services.job_quote_approve(job_id=quote.job_id, quote_id=quote.pk, funder=funder).attempt
    # when the payment goes through, and the funder asks for 15.00 back and the provider agrees
    for status in ("awaiting_authorization", "authorized", "processing", "succeeded"):
        assert states.transition(attempt.pk, to=status, received_amount=4500)
    assert not states.transition(attempt.pk, to=AttemptStatus.SUCCEEDED)  # a repeat changes nothing
    refund = services.refund_request(job_id=quote.job_id, funder=funder, amount=1500, reason="")
    services.refund_agree(refund_id=refund.pk, provider=quote.provider)
    # then every change is an event, in the order it happened, and nothing else
    assert events() == [
        ("payment.generating", "generating"),
        ("payment.awaiting_authorization", "awaiting_authorization"),
        ("payment.authorized", "authorized"),
        ("payment.processing", "processing"),
        ("payment.succeeded", "succeeded"),
        ("refund.requested", "requested"),
        ("refund.agreed", "agreed"),
        ("refund_attempt.generating", "generating"),
    ]
    last = PaymentEvent.objects.order_by("id").last()
    assert last is not None
    assert (last.job_id, last.refund_id, last.attempt_id) == (
        quote.job_id,
        refund.pk,
        PaymentAttempt.objects.get(refund=refund).pk,
    )


def test_a_change_rolled_back_leaves_no_event() -> None:
    # given an attempt generating its link
    attempt = f.attempt(f.quote(f.job(f.funder()), f.provider()))
    # when its change is rolled back with the transaction around it
    with pytest.raises(RuntimeError), transaction.atomic():
        states.transition(attempt.pk, to=AttemptStatus.FAILED, error="x")
        raise RuntimeError
    # then neither the change nor its event remains
    assert (PaymentAttempt.objects.get(pk=attempt.pk).status, events()) == ("generating", [])
    assert Job.objects.get(pk=attempt.job_id).status == "open"
