"""The refund JSON API: the funder asks, the paid provider agrees, declines or offers, the funder cancels,
and each of them reads the refund's status document; strangers learn nothing."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from jobs import services, states
from jobs.models import AttemptKind, AttemptStatus, Job, PaymentAttempt, Profile, Refund
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

PAYMENT_URL = "https://auth.wallet.example/interact/i-1/ABCDEF0123456789"


@pytest.fixture
def paid():
    """A $45.00 job the funder paid the provider for."""
    funder, provider = f.funder(), f.provider()
    job = f.job(funder)
    quote = f.quote(job, provider, amount_value=4500)
    payment = f.attempt(
        quote, AttemptStatus.SUCCEEDED, debit_amount=4600, receive_amount=4500, received_amount=4500
    )
    Job.objects.filter(pk=job.pk).update(status=Job.Status.PAID, paid_amount=4500)
    job.refresh_from_db()
    return {"funder": funder, "provider": provider, "job": job, "quote": quote, "payment": payment}


def requested(paid, value: int = 1500, reason: str = "Half done.") -> Refund:
    """A refund the funder asked for through the service (so the job counts it)."""
    return services.refund_request(job_id=paid["job"].pk, funder=paid["funder"], amount=value, reason=reason)


def refund_attempt(paid, refund: Refund, status: str, **fields) -> PaymentAttempt:
    """An attempt paying `refund` back from the provider's wallet to the funder's, in `status`."""
    return f.attempt(
        paid["quote"],
        status,
        kind=AttemptKind.REFUND,
        refund=refund,
        sender_wallet="https://wallet.example/pavel",
        receiver_wallet="https://wallet.example/fiona",
        **fields,
    )


def token_for(user) -> dict[str, str]:
    return {"Authorization": f"Token {services.api_token_create(user=user).key}"}


def post(url: str, user, body: object | None = None):
    """A POST by token with `body` as JSON (nothing when None)."""
    data = json.dumps(body) if body is not None else ""
    return Client().post(url, data=data, content_type="application/json", headers=token_for(user))


def amount(value: str, formatted: str) -> dict[str, object]:
    return {"value": value, "assetCode": "USD", "assetScale": 2, "formatted": formatted}


def refunds_url(job) -> str:
    return reverse("api-job-refunds", kwargs={"job_id": job.pk})


def offer_url(job) -> str:
    return reverse("api-refund-offer", kwargs={"job_id": job.pk})


def refund_url(refund, action: str = "") -> str:
    name = f"api-refund-{action}" if action else "api-refund"
    return reverse(name, kwargs={"refund_id": refund.pk})


def state(job) -> tuple[list[tuple[int, str]], list[tuple[str, str]], int, int]:
    """The job's refunds, its attempts (kind, status) and what it has committed and refunded: what a
    refusal must leave unchanged."""
    job = Job.objects.get(pk=job.pk)
    refunds = list(job.refunds.order_by("pk").values_list("amount_value", "status"))
    attempts = list(job.attempts.order_by("created_at").values_list("kind", "status"))
    return refunds, attempts, job.refunds_committed, job.refunded_amount


PAID_ONLY = ([], [("payment", "succeeded")], 0, 0)


# Asking for a refund


def test_the_funder_asks_for_part_back_and_gets_201_with_the_document(paid, tasks):
    # when
    response = post(refunds_url(paid["job"]), paid["funder"], {"amount": "15.00", "reason": "Half done."})
    # then
    refund = Refund.objects.get()
    assert response.status_code == 201
    assert response["Location"] == f"/api/refunds/{refund.pk}"
    assert response.json() == {
        "jobId": paid["job"].pk,
        "pendingId": None,
        "status": None,
        "final": False,
        "success": False,
        "paymentUrl": None,
        "redirectUrl": None,
        "quoteId": paid["quote"].pk,
        "walletQuoteId": None,
        "incomingPaymentId": None,
        "outgoingPaymentId": None,
        "amount": None,
        "receiveAmount": None,
        "assetCode": None,
        "assetScale": None,
        "expiresAt": None,
        "error": None,
        "createdAt": refund.created_at.isoformat(),
        "updatedAt": refund.created_at.isoformat(),
        "statusUrl": f"/api/refunds/{refund.pk}",
        "attempts": [],
        "refundId": refund.pk,
        "refundStatus": "requested",
        "requestedAmount": amount("1500", "$15.00"),
        "reason": "Half done.",
        "declineReason": None,
        "byProvider": False,
        "decidedAt": None,
        "refundedAt": None,
    }
    assert (refund.amount_value, refund.asset_code, refund.asset_scale) == (1500, "USD", 2)
    assert (refund.payment_id, refund.requested_by_id) == (paid["payment"].pk, paid["funder"].pk)
    assert state(paid["job"]) == ([(1500, "requested")], [("payment", "succeeded")], 1500, 0)
    f.assert_nothing_enqueued(tasks)


def test_asking_without_an_amount_asks_for_everything_left(paid, tasks):
    # given $15.00 already asked back
    requested(paid, 1500)
    # when
    response = post(refunds_url(paid["job"]), paid["funder"])
    # then
    assert response.status_code == 201
    assert response.json()["requestedAmount"] == amount("3000", "$30.00")
    assert response.json()["reason"] == ""
    assert state(paid["job"]) == (
        [(1500, "requested"), (3000, "requested")],
        [("payment", "succeeded")],
        4500,
        0,
    )


def test_asking_with_an_open_payments_amount_in_the_paid_asset(paid, tasks):
    # when
    response = post(
        refunds_url(paid["job"]),
        paid["funder"],
        {"amount": {"value": "1234", "assetCode": "USD", "assetScale": 2}},
    )
    # then
    assert response.status_code == 201
    assert response.json()["requestedAmount"] == amount("1234", "$12.34")
    assert state(paid["job"])[2] == 1234


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"amount": {"value": "1500", "assetCode": "EUR", "assetScale": 2}},
            "The amount must be in USD at scale 2, the asset the provider was paid in.",
        ),
        (
            {"amount": {"value": "150000", "assetCode": "USD", "assetScale": 4}},
            "The amount must be in USD at scale 2, the asset the provider was paid in.",
        ),
        (
            {"amount": {"value": 1500, "assetCode": "USD", "assetScale": 2}},
            'The amount\'s value must be a string of digits, in minor units (e.g. "1500").',
        ),
        (
            {"amount": {"value": "0", "assetCode": "USD", "assetScale": 2}},
            "Enter an amount greater than zero.",
        ),
        ({"amount": "15.001"}, "Use at most 2 decimal places for USD."),
        ({"amount": "15,00"}, "Enter an amount like 1,250.50."),
        ({"amount": "0"}, "Enter an amount greater than zero."),
        (
            {"amount": 15.0},
            'Send the amount as a string such as "1.00", or as an Open Payments amount such as '
            '{"value": "100", "assetCode": "USD", "assetScale": 2}.',
        ),
        ({"amount": "15.00", "reason": ["a", "list"]}, "The reason must be a string."),
        (["15.00"], "Send a JSON object as the request body."),
    ],
    ids=str,
)
def test_an_amount_or_body_the_api_cannot_use_is_400_and_changes_nothing(paid, tasks, body, message):
    # when
    response = post(refunds_url(paid["job"]), paid["funder"], body)
    # then
    assert (response.status_code, response.json()) == (400, {"error": message})
    assert state(paid["job"]) == PAID_ONLY
    f.assert_nothing_enqueued(tasks)


def test_a_body_that_is_not_json_is_400(paid, tasks):
    # when
    response = Client().post(
        refunds_url(paid["job"]),
        data="amount=15",
        content_type="text/plain",
        headers=token_for(paid["funder"]),
    )
    # then
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Send a JSON object as the request body."},
    )
    assert state(paid["job"]) == PAID_ONLY


def test_asking_for_more_than_is_left_is_refused_and_changes_nothing(paid, tasks):
    # given $10.00 of the $45.00 already asked back
    requested(paid, 1000)
    # when
    response = post(refunds_url(paid["job"]), paid["funder"], {"amount": "35.01"})
    # then
    assert (response.status_code, response.json()) == (
        403,
        {"error": "At most $35.00 can still be refunded on this job."},
    )
    assert state(paid["job"]) == ([(1000, "requested")], [("payment", "succeeded")], 1000, 0)
    f.assert_nothing_enqueued(tasks)


def test_asking_when_everything_was_asked_back_is_refused(paid, tasks):
    # given
    requested(paid, 4500)
    # when
    response = post(refunds_url(paid["job"]), paid["funder"])
    # then
    assert (response.status_code, response.json()) == (
        403,
        {"error": "Everything paid for this job is already refunded or asked back."},
    )
    assert state(paid["job"]) == ([(4500, "requested")], [("payment", "succeeded")], 4500, 0)


def test_the_provider_cannot_ask_for_a_refund(paid, tasks):
    # when
    response = post(refunds_url(paid["job"]), paid["provider"], {"amount": "15.00"})
    # then
    assert (response.status_code, response.json()) == (
        403,
        {"error": "Only the job's funder can ask for a refund; to send money back, offer a refund."},
    )
    assert state(paid["job"]) == PAID_ONLY


def test_asking_on_an_unpaid_job_is_refused(tasks):
    # given a job with a quote and a payment attempt still waiting for the funder
    funder, provider = f.funder(), f.provider()
    job = f.job(funder)
    f.attempt(f.quote(job, provider), AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    response = post(refunds_url(job), funder, {"amount": "5.00"})
    # then
    assert (response.status_code, response.json()) == (403, {"error": "Only a paid job can be refunded."})
    assert state(job) == ([], [("payment", "awaiting_authorization")], 0, 0)


# Offering a refund


def test_the_paid_provider_offers_a_refund_and_its_attempt_starts(paid, tasks):
    # when
    response = post(offer_url(paid["job"]), paid["provider"], {"amount": "5.00", "reason": "Late delivery."})
    # then
    refund = Refund.objects.get()
    attempt = PaymentAttempt.objects.get(kind=AttemptKind.REFUND)
    body = response.json()
    assert response.status_code == 202
    assert response["Location"] == f"/api/refunds/{refund.pk}"
    assert (body["refundStatus"], body["byProvider"], body["reason"]) == ("agreed", True, "Late delivery.")
    assert (body["pendingId"], body["status"], body["final"], body["success"]) == (
        str(attempt.pk),
        "generating",
        False,
        False,
    )
    # until the provider's wallet quotes it, what leaves their wallet is the refund's amount
    assert (body["amount"], body["requestedAmount"]) == (amount("500", "$5.00"), amount("500", "$5.00"))
    assert body["attempts"][0]["amount"] == amount("500", "$5.00")
    assert body["decidedAt"] == refund.decided_at.isoformat()
    assert (attempt.refund_id, attempt.sender_wallet, attempt.receiver_wallet) == (
        refund.pk,
        "https://wallet.example/pavel",
        "https://wallet.example/fiona",
    )
    assert state(paid["job"]) == (
        [(500, "agreed")],
        [("payment", "succeeded"), ("refund", "generating")],
        500,
        0,
    )
    tasks.generate_link.assert_called_once_with(str(attempt.pk))


def test_the_funder_cannot_offer_a_refund(paid, tasks):
    # when
    response = post(offer_url(paid["job"]), paid["funder"], {"amount": "5.00"})
    # then
    assert (response.status_code, response.json()) == (
        403,
        {"error": "Only the provider who was paid can offer a refund."},
    )
    assert state(paid["job"]) == PAID_ONLY
    f.assert_nothing_enqueued(tasks)


# Agreeing, declining, cancelling


def test_the_provider_agrees_and_the_refund_attempt_starts(paid, tasks):
    # given
    refund = requested(paid)
    # when
    response = post(refund_url(refund, "agree"), paid["provider"])
    # then
    attempt = PaymentAttempt.objects.get(kind=AttemptKind.REFUND)
    body = response.json()
    assert response.status_code == 202
    assert response["Location"] == f"/api/refunds/{refund.pk}"
    assert (body["refundStatus"], body["pendingId"], body["status"]) == (
        "agreed",
        str(attempt.pk),
        "generating",
    )
    assert state(paid["job"]) == (
        [(1500, "agreed")],
        [("payment", "succeeded"), ("refund", "generating")],
        1500,
        0,
    )
    tasks.generate_link.assert_called_once_with(str(attempt.pk))


def test_agreeing_twice_answers_the_same_attempt_and_enqueues_once(paid, tasks):
    # given
    refund = requested(paid)
    first = post(refund_url(refund, "agree"), paid["provider"])
    # when
    second = post(refund_url(refund, "agree"), paid["provider"])
    # then
    attempt = PaymentAttempt.objects.get(kind=AttemptKind.REFUND)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["pendingId"] == second.json()["pendingId"] == str(attempt.pk)
    assert PaymentAttempt.objects.count() == 2
    tasks.generate_link.assert_called_once_with(str(attempt.pk))


def test_agreeing_again_after_an_expired_link_starts_a_new_attempt(paid, tasks):
    # given an agreed refund whose link expired unused
    refund = requested(paid)
    services.refund_agree(refund_id=refund.pk, provider=paid["provider"])
    PaymentAttempt.objects.filter(kind=AttemptKind.REFUND).update(status=AttemptStatus.EXPIRED)
    # when
    response = post(refund_url(refund, "agree"), paid["provider"])
    # then
    new = PaymentAttempt.objects.get(kind=AttemptKind.REFUND, status=AttemptStatus.GENERATING)
    assert response.status_code == 202
    assert [a["status"] for a in response.json()["attempts"]] == ["generating", "expired"]
    tasks.generate_link.assert_called_once_with(str(new.pk))


def test_agreeing_without_a_wallet_is_refused_and_the_refund_stays_requested(paid, tasks):
    # given
    refund = requested(paid)
    Profile.objects.filter(user=paid["provider"]).update(wallet_id="", wallet_address="")
    # when
    response = post(refund_url(refund, "agree"), paid["provider"])
    # then
    assert (response.status_code, response.json()) == (
        403,
        {"error": "Add your wallet address to your profile before refunding."},
    )
    assert state(paid["job"]) == ([(1500, "requested")], [("payment", "succeeded")], 1500, 0)
    f.assert_nothing_enqueued(tasks)


def test_agreeing_to_a_refund_already_paid_is_refused(paid, tasks):
    # given
    refund = requested(paid)
    services.refund_agree(refund_id=refund.pk, provider=paid["provider"])
    attempt = PaymentAttempt.objects.get(kind=AttemptKind.REFUND)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.PROCESSING)
    states.transition(attempt.pk, to=AttemptStatus.SUCCEEDED, source=AttemptStatus.PROCESSING)
    # when
    response = post(refund_url(refund, "agree"), paid["provider"])
    # then
    assert (response.status_code, response.json()) == (403, {"error": "This refund was already paid."})
    assert state(paid["job"]) == (
        [(1500, "refunded")],
        [("payment", "succeeded"), ("refund", "succeeded")],
        1500,
        1500,
    )


def test_the_funder_cannot_agree_to_their_own_request(paid, tasks):
    # given
    refund = requested(paid)
    # when
    response = post(refund_url(refund, "agree"), paid["funder"])
    # then
    assert (response.status_code, response.json()) == (
        403,
        {"error": "Only the provider who was paid can agree to or decline a refund."},
    )
    assert state(paid["job"]) == ([(1500, "requested")], [("payment", "succeeded")], 1500, 0)
    f.assert_nothing_enqueued(tasks)


def test_the_provider_declines_with_a_reason_and_the_amount_is_released(paid, tasks):
    # given
    refund = requested(paid)
    # when
    response = post(refund_url(refund, "decline"), paid["provider"], {"reason": "The work was delivered."})
    # then
    refund.refresh_from_db()
    body = response.json()
    assert response.status_code == 200
    assert (body["refundStatus"], body["declineReason"], body["final"], body["success"]) == (
        "declined",
        "The work was delivered.",
        True,
        False,
    )
    assert body["decidedAt"] == body["updatedAt"] == refund.decided_at.isoformat()
    assert state(paid["job"]) == ([(1500, "declined")], [("payment", "succeeded")], 0, 0)
    f.assert_nothing_enqueued(tasks)


def test_a_refund_being_paid_cannot_be_declined(paid, tasks):
    # given
    refund = requested(paid)
    services.refund_agree(refund_id=refund.pk, provider=paid["provider"])
    # when
    response = post(refund_url(refund, "decline"), paid["provider"], {"reason": "Changed my mind."})
    # then
    assert (response.status_code, response.json()) == (
        403,
        {"error": "This refund is being paid or was already settled, so it cannot be declined."},
    )
    assert state(paid["job"]) == (
        [(1500, "agreed")],
        [("payment", "succeeded"), ("refund", "generating")],
        1500,
        0,
    )


def test_the_funder_cancels_their_request(paid, tasks):
    # given
    refund = requested(paid)
    # when
    response = post(refund_url(refund, "cancel"), paid["funder"])
    # then
    body = response.json()
    assert response.status_code == 200
    assert (body["refundStatus"], body["final"], body["declineReason"]) == ("cancelled", True, None)
    assert state(paid["job"]) == ([(1500, "cancelled")], [("payment", "succeeded")], 0, 0)


def test_the_provider_cannot_cancel_and_an_answered_request_cannot_be_cancelled(paid, tasks):
    # given
    refund = requested(paid)
    # when
    by_provider = post(refund_url(refund, "cancel"), paid["provider"])
    services.refund_decline(refund_id=refund.pk, provider=paid["provider"], reason="No.")
    after_answer = post(refund_url(refund, "cancel"), paid["funder"])
    # then
    assert (by_provider.status_code, by_provider.json()) == (
        403,
        {"error": "Only the job's funder can cancel a refund request."},
    )
    assert (after_answer.status_code, after_answer.json()) == (
        403,
        {"error": "This refund is no longer waiting for an answer."},
    )
    assert state(paid["job"]) == ([(1500, "declined")], [("payment", "succeeded")], 0, 0)


# Reading


def test_the_document_of_a_refund_waiting_for_the_providers_consent(paid, tasks):
    # given an agreed refund whose first link expired and whose second waits in the provider's wallet
    refund = requested(paid)
    services.refund_agree(refund_id=refund.pk, provider=paid["provider"])
    older = PaymentAttempt.objects.get(kind=AttemptKind.REFUND)
    PaymentAttempt.objects.filter(pk=older.pk).update(status=AttemptStatus.EXPIRED)
    attempt = refund_attempt(
        paid, refund, AttemptStatus.AWAITING_AUTHORIZATION, debit_amount=1500, receive_amount=1480
    )
    refund.refresh_from_db()
    # when
    response = Client().get(refund_url(refund), headers=token_for(paid["provider"]))
    # then
    assert response.status_code == 200
    assert response.json() == {
        "jobId": paid["job"].pk,
        "pendingId": str(attempt.pk),
        "status": "awaiting_authorization",
        "final": False,
        "success": False,
        "paymentUrl": PAYMENT_URL,
        "redirectUrl": PAYMENT_URL,
        "quoteId": paid["quote"].pk,
        "walletQuoteId": "https://wallet.example/quotes/q-1",
        "incomingPaymentId": "https://wallet.example/incoming-payments/in-1",
        "outgoingPaymentId": None,
        "amount": amount("1500", "$15.00"),
        "receiveAmount": amount("1480", "$14.80"),
        "assetCode": "USD",
        "assetScale": 2,
        "expiresAt": attempt.authorization_expires_at.isoformat(),
        "error": None,
        "createdAt": refund.created_at.isoformat(),
        "updatedAt": attempt.updated_at.isoformat(),
        "statusUrl": f"/api/refunds/{refund.pk}",
        "attempts": [
            {
                "pendingId": str(attempt.pk),
                "kind": "refund",
                "refundId": refund.pk,
                "status": "awaiting_authorization",
                "success": False,
                "quoteId": paid["quote"].pk,
                "amount": amount("1500", "$15.00"),
                "receiveAmount": amount("1480", "$14.80"),
                "error": None,
                "createdAt": attempt.created_at.isoformat(),
                "finishedAt": None,
            },
            {
                "pendingId": str(older.pk),
                "kind": "refund",
                "refundId": refund.pk,
                "status": "expired",
                "success": False,
                "quoteId": paid["quote"].pk,
                "amount": amount("1500", "$15.00"),
                "receiveAmount": None,
                "error": "The refund link expired before it was approved.",
                "createdAt": older.created_at.isoformat(),
                "finishedAt": None,
            },
        ],
        "refundId": refund.pk,
        "refundStatus": "agreed",
        "requestedAmount": amount("1500", "$15.00"),
        "reason": "Half done.",
        "declineReason": None,
        "byProvider": False,
        "decidedAt": refund.decided_at.isoformat(),
        "refundedAt": None,
    }


def test_the_funder_reads_the_refund_in_full_but_never_the_providers_link(paid, tasks):
    # given
    refund = requested(paid)
    attempt = refund_attempt(paid, refund, AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    body = Client().get(refund_url(refund), headers=token_for(paid["funder"])).json()
    # then
    assert (body["paymentUrl"], body["redirectUrl"]) == (None, None)
    assert (body["pendingId"], body["walletQuoteId"]) == (
        str(attempt.pk),
        "https://wallet.example/quotes/q-1",
    )
    assert body["attempts"][0]["pendingId"] == str(attempt.pk)


def test_the_document_has_every_field_of_the_payment_document(paid, tasks):
    # given
    refund = requested(paid)
    # when
    refund_body = Client().get(refund_url(refund), headers=token_for(paid["funder"])).json()
    payment_body = (
        Client()
        .get(reverse("api-job-payment", kwargs={"job_id": paid["job"].pk}), headers=token_for(paid["funder"]))
        .json()
    )
    # then
    assert set(payment_body) <= set(refund_body)


def test_the_job_lists_its_refunds_newest_first_with_what_is_left(paid, tasks):
    # given
    first = requested(paid, 1000)
    services.refund_decline(refund_id=first.pk, provider=paid["provider"], reason="No.")
    second = requested(paid, 2000)
    # when
    response = Client().get(refunds_url(paid["job"]), headers=token_for(paid["provider"]))
    # then
    body = response.json()
    assert response.status_code == 200
    assert (body["jobId"], body["refundable"]) == (paid["job"].pk, amount("2500", "$25.00"))
    assert [(r["refundId"], r["refundStatus"]) for r in body["refunds"]] == [
        (second.pk, "requested"),
        (first.pk, "declined"),
    ]
    assert body["refunds"][1] == Client().get(refund_url(first), headers=token_for(paid["funder"])).json()


def test_an_unpaid_job_lists_no_refunds_for_its_funder(tasks):
    # given
    funder = f.funder()
    job = f.job(funder)
    # when
    response = Client().get(refunds_url(job), headers=token_for(funder))
    # then
    assert (response.status_code, response.json()) == (
        200,
        {"jobId": job.pk, "refundable": None, "refunds": []},
    )


def test_staff_who_may_read_payments_read_refunds_but_cannot_answer_them(paid, tasks):
    # given
    refund = requested(paid)
    staff = f.user("stella")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(Permission.objects.get(codename="view_paymentattempt"))
    # when
    read = Client().get(refund_url(refund), headers=token_for(staff))
    agree = post(refund_url(refund, "agree"), staff)
    # then
    assert (read.status_code, read.json()["refundStatus"]) == (200, "requested")
    assert (agree.status_code, agree.json()) == (
        403,
        {"error": "Only the provider who was paid can agree to or decline a refund."},
    )
    assert state(paid["job"]) == ([(1500, "requested")], [("payment", "succeeded")], 1500, 0)


# Strangers and authentication


def _endpoints(paid, refund) -> list[tuple[str, str]]:
    return [
        ("get", refunds_url(paid["job"])),
        ("post", refunds_url(paid["job"])),
        ("post", offer_url(paid["job"])),
        ("get", refund_url(refund)),
        ("post", refund_url(refund, "agree")),
        ("post", refund_url(refund, "decline")),
        ("post", refund_url(refund, "cancel")),
    ]


@pytest.mark.parametrize("who", ["stranger", "unpaid provider"])
def test_someone_outside_the_refund_gets_404_everywhere_and_changes_nothing(paid, tasks, who):
    # given a refund asked for, and someone who is neither its funder nor the provider it pays back from
    refund = requested(paid)
    outsider = f.provider("olga")
    if who == "unpaid provider":
        f.quote(paid["job"], outsider, amount_value=4000)
    headers = token_for(outsider)
    body = json.dumps({"amount": "1.00", "reason": "Mine now."})
    # when
    responses = [
        Client().post(url, data=body, content_type="application/json", headers=headers)
        if method == "post"
        else Client().get(url, headers=headers)
        for method, url in _endpoints(paid, refund)
    ]
    # then
    answers = [(r.status_code, r.json()) for r in responses]
    no_job, no_refund = (404, {"error": "No such job."}), (404, {"error": "No such refund."})
    assert answers == [no_job, no_job, no_job, no_refund, no_refund, no_refund, no_refund]
    assert state(paid["job"]) == ([(1500, "requested")], [("payment", "succeeded")], 1500, 0)
    f.assert_nothing_enqueued(tasks)


def test_unknown_jobs_and_refunds_are_404(paid, tasks):
    # when
    job = Client().get(reverse("api-job-refunds", kwargs={"job_id": 999}), headers=token_for(paid["funder"]))
    refund = post(reverse("api-refund-agree", kwargs={"refund_id": 999}), paid["provider"])
    # then
    assert (job.status_code, job.json()) == (404, {"error": "No such job."})
    assert (refund.status_code, refund.json()) == (404, {"error": "No such refund."})


def test_token_authentication_needs_no_csrf_token(paid, tasks):
    # when
    response = Client(enforce_csrf_checks=True).post(
        refunds_url(paid["job"]),
        data=json.dumps({"amount": "15.00"}),
        content_type="application/json",
        headers=token_for(paid["funder"]),
    )
    # then
    assert response.status_code == 201
    assert state(paid["job"]) == ([(1500, "requested")], [("payment", "succeeded")], 1500, 0)


def test_session_authentication_without_the_csrf_token_is_refused(paid, tasks):
    # given
    refund = requested(paid)
    funder, provider = f.logged_in(paid["funder"], csrf=True), f.logged_in(paid["provider"], csrf=True)
    # when
    asked = funder.post(refunds_url(paid["job"]), data={"amount": "5.00"}, content_type="application/json")
    agreed = provider.post(refund_url(refund, "agree"))
    # then
    refused = {"error": "CSRF check failed; send the X-CSRFToken header with session authentication."}
    assert (asked.status_code, asked.json()) == (403, refused)
    assert (agreed.status_code, agreed.json()) == (403, refused)
    assert state(paid["job"]) == ([(1500, "requested")], [("payment", "succeeded")], 1500, 0)
    f.assert_nothing_enqueued(tasks)


def test_session_authentication_with_the_csrf_header_works(paid, tasks):
    # given
    provider = f.logged_in(paid["provider"], csrf=True)
    provider.get(reverse("job-detail", kwargs={"job_id": paid["job"].pk}))
    # when
    response = provider.post(
        offer_url(paid["job"]),
        data={"amount": "2.50"},
        content_type="application/json",
        headers={"X-CSRFToken": provider.cookies["csrftoken"].value},
    )
    # then
    assert response.status_code == 202
    assert response.json()["requestedAmount"] == amount("250", "$2.50")
    tasks.generate_link.assert_called_once_with(response.json()["pendingId"])


def test_the_refund_document_is_get_only_and_the_list_takes_no_put(paid, tasks):
    # given
    refund = requested(paid)
    # when
    post_document = post(refund_url(refund), paid["funder"])
    put_list = Client().put(refunds_url(paid["job"]), headers=token_for(paid["funder"]))
    # then
    assert (post_document.status_code, put_list.status_code) == (405, 405)
