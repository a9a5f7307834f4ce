"""The JSON API: approve by session (with CSRF) or token, and the payment status document."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from jobs import services
from jobs.models import ApiToken, AttemptStatus, PaymentAttempt
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

PAYMENT_URL = "https://auth.wallet.example/interact/i-1/ABCDEF0123456789"


@pytest.fixture
def deal():
    funder, provider = f.funder(), f.provider()
    job = f.job(funder)
    return {"funder": funder, "provider": provider, "job": job, "quote": f.quote(job, provider)}


def approve_url(job, quote) -> str:
    return reverse("api-quote-approve", kwargs={"job_id": job.pk, "quote_id": quote.pk})


def status_url(job) -> str:
    return reverse("api-job-payment", kwargs={"job_id": job.pk})


def token_for(user) -> dict[str, str]:
    return {"Authorization": f"Token {services.api_token_create(user=user).key}"}


def amount(value: str, formatted: str) -> dict[str, object]:
    return {"value": value, "assetCode": "USD", "assetScale": 2, "formatted": formatted}


# Approve


def test_approve_by_token_answers_202_with_the_status_document(deal, tasks):
    # given
    headers = token_for(deal["funder"])
    # when
    response = Client().post(approve_url(deal["job"], deal["quote"]), headers=headers)
    # then
    attempt = PaymentAttempt.objects.get()
    body = response.json()
    assert response.status_code == 202
    assert response["Location"] == f"/api/jobs/{deal['job'].pk}/payment"
    assert body["statusUrl"] == f"/api/jobs/{deal['job'].pk}/payment"
    assert (body["pendingId"], body["status"], body["success"]) == (str(attempt.pk), "generating", False)
    assert (body["paymentUrl"], body["redirectUrl"]) == (None, None)
    tasks.generate_link.assert_called_once_with(str(attempt.pk))


def test_approve_twice_answers_202_with_the_same_pending_id_and_enqueues_once(deal, tasks):
    # given
    headers = token_for(deal["funder"])
    first = Client().post(approve_url(deal["job"], deal["quote"]), headers=headers)
    # when
    second = Client().post(approve_url(deal["job"], deal["quote"]), headers=headers)
    # then
    attempt = PaymentAttempt.objects.get()
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["pendingId"] == second.json()["pendingId"] == str(attempt.pk)
    tasks.generate_link.assert_called_once_with(str(attempt.pk))


def test_approve_by_session_needs_the_csrf_token(deal, tasks):
    # given
    client = f.logged_in(deal["funder"], csrf=True)
    # when
    response = client.post(approve_url(deal["job"], deal["quote"]))
    # then
    assert response.status_code == 403
    assert response.json() == {
        "error": "CSRF check failed; send the X-CSRFToken header with session authentication."
    }
    assert PaymentAttempt.objects.count() == 0
    f.assert_nothing_enqueued(tasks)


def test_approve_by_session_with_the_csrf_header_works(deal, tasks):
    # given
    client = f.logged_in(deal["funder"], csrf=True)
    client.get(reverse("job-detail", kwargs={"job_id": deal["job"].pk}))
    # when
    response = client.post(
        approve_url(deal["job"], deal["quote"]), headers={"X-CSRFToken": client.cookies["csrftoken"].value}
    )
    # then
    assert response.status_code == 202
    tasks.generate_link.assert_called_once_with(response.json()["pendingId"])


def test_approve_by_token_needs_no_csrf_token(deal, tasks):
    # when
    response = Client(enforce_csrf_checks=True).post(
        approve_url(deal["job"], deal["quote"]), headers=token_for(deal["funder"])
    )
    # then
    assert response.status_code == 202


@pytest.mark.parametrize(
    "header", ["Token not-a-key", "Token ", "Bearer something", "Basic Zm9vOmJhcg=="], ids=str
)
def test_a_bad_authorization_header_is_401(deal, tasks, header):
    # when
    response = Client().post(approve_url(deal["job"], deal["quote"]), headers={"Authorization": header})
    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"error": "The API token is not valid."}
    assert PaymentAttempt.objects.count() == 0
    f.assert_nothing_enqueued(tasks)


def test_no_credentials_is_401(deal, tasks):
    # when
    response = Client().post(approve_url(deal["job"], deal["quote"]))
    # then
    assert response.status_code == 401
    assert response.json() == {"error": "Log in, or send Authorization: Token <key>."}
    f.assert_nothing_enqueued(tasks)


def test_the_token_of_an_inactive_user_is_refused(deal, tasks):
    # given
    headers = token_for(deal["funder"])
    deal["funder"].is_active = False
    deal["funder"].save()
    # when
    response = Client().post(approve_url(deal["job"], deal["quote"]), headers=headers)
    # then
    assert response.status_code == 401
    f.assert_nothing_enqueued(tasks)


def test_approve_by_someone_else_is_404_and_changes_nothing(deal, tasks):
    # when
    response = Client().post(approve_url(deal["job"], deal["quote"]), headers=token_for(deal["provider"]))
    # then
    assert response.status_code == 404
    assert response.json() == {"error": "No such job."}
    assert PaymentAttempt.objects.count() == 0
    f.assert_nothing_enqueued(tasks)


def test_approve_an_unknown_job_or_a_foreign_quote_is_404(deal, tasks):
    # given
    headers = token_for(deal["funder"])
    other_job = f.job(deal["funder"], title="Other")
    # when
    unknown_job = Client().post(
        reverse("api-quote-approve", kwargs={"job_id": 999, "quote_id": deal["quote"].pk}), headers=headers
    )
    foreign_quote = Client().post(approve_url(other_job, deal["quote"]), headers=headers)
    # then
    assert (unknown_job.status_code, unknown_job.json()) == (404, {"error": "No such job."})
    assert (foreign_quote.status_code, foreign_quote.json()) == (404, {"error": "No such quote on this job."})
    assert PaymentAttempt.objects.count() == 0
    f.assert_nothing_enqueued(tasks)


def test_using_a_token_notes_when_it_was_last_used(deal, tasks):
    # given
    issued = services.api_token_create(user=deal["funder"], name="ci")
    # when
    Client().get(status_url(deal["job"]), headers={"Authorization": f"Token {issued.key}"})
    # then
    token = ApiToken.objects.get()
    assert token.last_used_at is not None
    assert token.key_hash == services.api_key_hash(issued.key)
    assert issued.key not in {token.key_hash, token.name}


# The status document


def test_the_status_document_of_a_link_awaiting_authorization(deal):
    # given
    older = f.attempt(deal["quote"], AttemptStatus.EXPIRED, error="")
    attempt = f.attempt(deal["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    response = f.logged_in(deal["funder"]).get(status_url(deal["job"]))
    # then
    assert response.status_code == 200
    assert response.json() == {
        "jobId": deal["job"].pk,
        "pendingId": str(attempt.pk),
        "status": "awaiting_authorization",
        "final": False,
        "success": False,
        "paymentUrl": PAYMENT_URL,
        "redirectUrl": PAYMENT_URL,
        "quoteId": deal["quote"].pk,
        "walletQuoteId": "https://wallet.example/quotes/q-1",
        "incomingPaymentId": "https://wallet.example/incoming-payments/in-1",
        "outgoingPaymentId": None,
        "amount": amount("1300", "$13.00"),
        "receiveAmount": amount("1250", "$12.50"),
        "assetCode": "USD",
        "assetScale": 2,
        "expiresAt": attempt.authorization_expires_at.isoformat(),
        "error": None,
        "createdAt": attempt.created_at.isoformat(),
        "updatedAt": attempt.updated_at.isoformat(),
        "statusUrl": f"/api/jobs/{deal['job'].pk}/payment",
        "attempts": [
            {
                "pendingId": str(attempt.pk),
                "kind": "payment",
                "refundId": None,
                "status": "awaiting_authorization",
                "success": False,
                "quoteId": deal["quote"].pk,
                "amount": amount("1300", "$13.00"),
                "receiveAmount": amount("1250", "$12.50"),
                "error": None,
                "createdAt": attempt.created_at.isoformat(),
                "finishedAt": None,
            },
            {
                "pendingId": str(older.pk),
                "kind": "payment",
                "refundId": None,
                "status": "expired",
                "success": False,
                "quoteId": deal["quote"].pk,
                "amount": amount("1300", "$13.00"),
                "receiveAmount": amount("1250", "$12.50"),
                "error": "The payment link expired before it was approved.",
                "createdAt": older.created_at.isoformat(),
                "finishedAt": None,
            },
        ],
    }


def test_the_status_document_while_generating_uses_the_quote_amount(deal):
    # given
    attempt = f.attempt(deal["quote"], AttemptStatus.GENERATING)
    # when
    body = f.logged_in(deal["funder"]).get(status_url(deal["job"])).json()
    # then
    assert body["amount"] == amount("1250", "$12.50")
    assert (body["paymentUrl"], body["redirectUrl"], body["expiresAt"]) == (None, None, None)
    assert (body["incomingPaymentId"], body["receiveAmount"]) == (None, None)
    assert body["pendingId"] == str(attempt.pk)


def test_the_status_document_of_a_paid_job(deal):
    # given
    attempt = f.attempt(deal["quote"], AttemptStatus.SUCCEEDED)
    # when
    body = f.logged_in(deal["funder"]).get(status_url(deal["job"])).json()
    # then
    assert (body["status"], body["success"], body["final"], body["error"]) == ("succeeded", True, True, None)
    assert body["outgoingPaymentId"] == "https://wallet.example/outgoing-payments/out-1"
    assert body["paymentUrl"] is None
    assert body["attempts"][0]["finishedAt"] == attempt.finished_at.isoformat()


def test_the_status_document_of_a_declined_attempt_carries_its_error(deal):
    # given
    f.attempt(deal["quote"], AttemptStatus.DECLINED, error="You declined the payment in your wallet.")
    # when
    body = f.logged_in(deal["funder"]).get(status_url(deal["job"])).json()
    # then
    assert (body["status"], body["final"], body["error"]) == (
        "declined",
        True,
        "You declined the payment in your wallet.",
    )
    assert body["paymentUrl"] is None


def test_the_provider_reads_the_status_without_the_payment_link(deal):
    # given
    f.attempt(deal["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    # when
    response = Client().get(status_url(deal["job"]), headers=token_for(deal["provider"]))
    # then
    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["paymentUrl"], body["redirectUrl"]) == ("awaiting_authorization", None, None)


def test_the_status_of_a_job_without_a_payment_is_404(deal):
    # when
    response = f.logged_in(deal["funder"]).get(status_url(deal["job"]))
    # then
    assert (response.status_code, response.json()) == (404, {"error": "This job has no payment yet."})


def test_the_status_is_404_for_someone_outside_the_job_and_for_unknown_jobs(deal):
    # given
    f.attempt(deal["quote"], AttemptStatus.AWAITING_AUTHORIZATION)
    stranger = f.logged_in(f.funder("sam"))
    # when
    foreign = stranger.get(status_url(deal["job"]))
    unknown = stranger.get(reverse("api-job-payment", kwargs={"job_id": 999}))
    # then
    assert (foreign.status_code, foreign.json()) == (404, {"error": "No such job."})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "No such job."})


def test_the_status_is_get_only(deal):
    # when
    response = f.logged_in(deal["funder"]).post(status_url(deal["job"]))
    # then
    assert response.status_code == 405
