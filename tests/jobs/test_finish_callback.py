"""The wallet's finish redirect: a verified approval authorizes an attempt once; a refusal changes nothing."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from jobs.models import AttemptStatus, PaymentAttempt
from payments.interaction import finish_hash
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

INTERACT_REF = "2e97a3c4-5f6b-4c8d-9e0f-a1b2c3d4e5f6"


@pytest.fixture
def awaiting():
    """An attempt whose payment link is out, waiting for the funder at their wallet."""
    quote = f.quote(f.job(f.funder()), f.provider())
    return f.attempt(quote, AttemptStatus.AWAITING_AUTHORIZATION)


def valid_hash(attempt: PaymentAttempt, interact_ref: str = INTERACT_REF) -> str:
    return finish_hash(
        client_nonce=attempt.client_nonce,
        interact_nonce=attempt.interact_nonce,
        interact_ref=interact_ref,
        grant_url=attempt.sender_auth_server,
    )


def finish_url(attempt_id, **query: str) -> str:
    return reverse("payment-finish", kwargs={"attempt_id": attempt_id}) + "?" + urlencode(query)


def reload(attempt: PaymentAttempt) -> PaymentAttempt:
    return PaymentAttempt.objects.get(pk=attempt.pk)


def test_a_valid_hash_authorizes_the_attempt_and_enqueues_the_continuation_once(awaiting, tasks):
    # given
    client = f.logged_in(awaiting.job.funder)
    # when
    response = client.get(finish_url(awaiting.pk, hash=valid_hash(awaiting), interact_ref=INTERACT_REF))
    # then
    attempt = reload(awaiting)
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{awaiting.job_id}"
    assert attempt.status == AttemptStatus.AUTHORIZED
    assert attempt.interact_ref == INTERACT_REF
    assert attempt.authorized_at is not None
    tasks.continue_grant.assert_called_once_with(str(awaiting.pk))
    assert [str(m) for m in response.wsgi_request._messages] == [
        "Payment approved in your wallet. Processing payment…"
    ]


def test_the_url_safe_unpadded_hash_is_accepted_too(awaiting, tasks):
    # given
    url_safe = valid_hash(awaiting).replace("+", "-").replace("/", "_").rstrip("=")
    # when
    response = Client().get(finish_url(awaiting.pk, hash=url_safe, interact_ref=INTERACT_REF))
    # then
    assert response.status_code == 302
    assert reload(awaiting).status == AttemptStatus.AUTHORIZED
    tasks.continue_grant.assert_called_once_with(str(awaiting.pk))


def test_the_callback_works_for_a_browser_that_lost_its_session(awaiting, tasks):
    # when
    response = Client().get(finish_url(awaiting.pk, hash=valid_hash(awaiting), interact_ref=INTERACT_REF))
    # then
    assert response.status_code == 302
    assert reload(awaiting).status == AttemptStatus.AUTHORIZED
    tasks.continue_grant.assert_called_once_with(str(awaiting.pk))


def assert_unchanged(attempt: PaymentAttempt, tasks) -> None:
    after = reload(attempt)
    assert (after.status, after.interact_ref, after.authorized_at, after.error) == (
        AttemptStatus.AWAITING_AUTHORIZATION,
        "",
        None,
        "",
    )
    f.assert_nothing_enqueued(tasks)


def test_a_tampered_hash_is_refused_with_400_and_changes_nothing(awaiting, tasks):
    # given
    good = valid_hash(awaiting)
    tampered = ("A" if good[0] != "A" else "B") + good[1:]
    # when
    response = Client().get(finish_url(awaiting.pk, hash=tampered, interact_ref=INTERACT_REF))
    # then
    assert response.status_code == 400
    assert "We could not confirm that this approval came from your wallet, so nothing was paid." in (
        response.content.decode()
    )
    assert_unchanged(awaiting, tasks)


def test_a_hash_for_another_interact_ref_is_refused(awaiting, tasks):
    # when
    response = Client().get(
        finish_url(awaiting.pk, hash=valid_hash(awaiting, "another-ref"), interact_ref=INTERACT_REF)
    )
    # then
    assert response.status_code == 400
    assert_unchanged(awaiting, tasks)


def test_the_hash_of_another_attempt_is_refused(awaiting, tasks):
    # given
    other_quote = f.quote(f.job(f.funder("olga")), f.provider("omar"))
    other = f.attempt(
        other_quote, AttemptStatus.AWAITING_AUTHORIZATION, client_nonce="other-nonce", interact_nonce="OTHER0"
    )
    # when
    response = Client().get(finish_url(awaiting.pk, hash=valid_hash(other), interact_ref=INTERACT_REF))
    # then
    assert response.status_code == 400
    assert_unchanged(awaiting, tasks)
    assert reload(other).status == AttemptStatus.AWAITING_AUTHORIZATION


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"hash": "abc"},
        {"interact_ref": INTERACT_REF},
        {"hash": "not base64!", "interact_ref": INTERACT_REF},
    ],
    ids=["nothing", "no-interact-ref", "no-hash", "garbage-hash"],
)
def test_missing_or_malformed_parameters_are_refused(awaiting, tasks, query):
    # when
    response = Client().get(finish_url(awaiting.pk, **query))
    # then
    assert response.status_code == 400
    assert_unchanged(awaiting, tasks)


def test_an_unknown_attempt_is_404_with_a_plain_page(tasks):
    # when
    response = Client().get(
        finish_url("0b9f5a3e-1111-4222-8333-944455556666", hash="abc=", interact_ref=INTERACT_REF)
    )
    # then
    assert response.status_code == 404
    assert "We do not know this payment link." in response.content.decode()
    f.assert_nothing_enqueued(tasks)


def test_a_replay_after_success_is_refused_and_enqueues_nothing_more(awaiting, tasks):
    # given
    url = finish_url(awaiting.pk, hash=valid_hash(awaiting), interact_ref=INTERACT_REF)
    Client().get(url)
    authorized = reload(awaiting)
    # when
    replay = Client().get(url)
    # then
    assert replay.status_code == 400
    assert (
        "This payment link was already used or is no longer waiting for approval." in replay.content.decode()
    )
    after = reload(awaiting)
    assert (after.status, after.authorized_at, after.updated_at) == (
        AttemptStatus.AUTHORIZED,
        authorized.authorized_at,
        authorized.updated_at,
    )
    tasks.continue_grant.assert_called_once_with(str(awaiting.pk))


@pytest.mark.parametrize(
    "status",
    [AttemptStatus.GENERATING, AttemptStatus.CANCELLED, AttemptStatus.EXPIRED, AttemptStatus.SUCCEEDED],
)
def test_an_attempt_not_awaiting_authorization_is_refused(tasks, status):
    # given
    attempt = f.attempt(
        f.quote(f.job(f.funder()), f.provider()), status, client_nonce="n1", interact_nonce="N2"
    )
    # when
    response = Client().get(finish_url(attempt.pk, hash=valid_hash(attempt), interact_ref=INTERACT_REF))
    # then
    assert response.status_code == 400
    assert reload(attempt).status == status
    f.assert_nothing_enqueued(tasks)


def test_a_logged_in_stranger_gets_404_and_changes_nothing(awaiting, tasks):
    # given
    stranger = f.logged_in(f.funder("sam"))
    # when
    response = stranger.get(finish_url(awaiting.pk, hash=valid_hash(awaiting), interact_ref=INTERACT_REF))
    # then
    assert response.status_code == 404
    assert_unchanged(awaiting, tasks)


def test_declining_in_the_wallet_declines_the_attempt_and_offers_a_new_link(awaiting, tasks):
    # given
    client = f.logged_in(awaiting.job.funder)
    # when
    response = client.get(finish_url(awaiting.pk, result="grant_rejected"), follow=True)
    # then
    after = reload(awaiting)
    assert response.redirect_chain == [(f"/jobs/{awaiting.job_id}", 302)]
    assert (after.status, after.error) == (AttemptStatus.DECLINED, "You declined the payment in your wallet.")
    assert after.finished_at is not None
    html = response.content.decode()
    assert "Get a new link" in html
    assert '<li class="message message-warning">You declined the payment in your wallet.</li>' in html
    tasks.cancel_grant.assert_called_once_with(str(awaiting.pk))
    tasks.continue_grant.assert_not_called()


@pytest.mark.parametrize(
    ("result", "status", "error", "revoked"),
    [
        (
            "invalid_interaction",
            AttemptStatus.EXPIRED,
            "The approval in your wallet expired before it was completed.",
            1,
        ),
        ("grant_invalid", AttemptStatus.EXPIRED, "Your wallet says this payment link is no longer valid.", 1),
        ("something_new", AttemptStatus.FAILED, "Your wallet could not complete the approval.", 0),
    ],
)
def test_other_results_end_the_attempt_with_a_plain_message(awaiting, tasks, result, status, error, revoked):
    # when
    client = f.logged_in(awaiting.job.funder)
    response = client.get(finish_url(awaiting.pk, result=result, message="interaction expired"))
    # then
    after = reload(awaiting)
    assert response.status_code == 302
    assert (after.status, after.error) == (status, error)
    assert tasks.cancel_grant.call_args_list == [((str(awaiting.pk),),)] * revoked
    tasks.continue_grant.assert_not_called()


def test_a_replayed_decline_is_refused(awaiting, tasks):
    # given
    client = f.logged_in(awaiting.job.funder)
    client.get(finish_url(awaiting.pk, result="grant_rejected"))
    # when
    replay = client.get(finish_url(awaiting.pk, result="invalid_interaction"))
    # then
    assert replay.status_code == 400
    assert reload(awaiting).status == AttemptStatus.DECLINED
    tasks.cancel_grant.assert_called_once_with(str(awaiting.pk))


def test_a_redirect_target_in_the_query_is_ignored(awaiting, tasks):
    # when
    response = Client().get(
        finish_url(
            awaiting.pk,
            hash=valid_hash(awaiting),
            interact_ref=INTERACT_REF,
            next="https://evil.example/",
            redirect="https://evil.example/",
        )
    )
    # then
    assert response["Location"] == f"/jobs/{awaiting.job_id}"


def test_refusals_are_logged_with_the_attempt_id_and_never_the_hash(awaiting, tasks, caplog):
    # given
    good = valid_hash(awaiting)
    tampered = ("A" if good[0] != "A" else "B") + good[1:]
    # when
    with caplog.at_level(logging.INFO):
        Client().get(finish_url(awaiting.pk, hash=tampered, interact_ref=INTERACT_REF))
        Client().get(finish_url(awaiting.pk, hash=good, interact_ref=INTERACT_REF))
    # then
    assert [r.getMessage() for r in caplog.records if r.name == "jobs.views.callback"] == [
        f"finish callback refused attempt_id={awaiting.pk} reason=bad_hash",
        f"finish callback attempt_id={awaiting.pk} status=authorized",
    ]
    for secret in (tampered, good, INTERACT_REF, *f.SECRETS.values()):
        assert secret not in caplog.text


def test_the_callback_is_get_only(awaiting, tasks):
    # when
    response = Client().post(finish_url(awaiting.pk, hash=valid_hash(awaiting), interact_ref=INTERACT_REF))
    # then
    assert response.status_code == 405
    assert_unchanged(awaiting, tasks)


def competing_provider(attempt: PaymentAttempt) -> Client:
    """A provider who quoted on the same job (and so may follow its payment), logged in."""
    rival = f.provider("rita")
    f.quote(attempt.job, rival)
    return f.logged_in(rival)


@pytest.mark.parametrize(
    "visitor",
    [competing_provider, lambda attempt: Client(), lambda attempt: f.logged_in(f.funder("sam"))],
    ids=["a competing provider", "a logged-out visitor", "another funder"],
)
def test_a_decline_from_anyone_but_the_funder_ends_nothing(awaiting, tasks, visitor):
    # given someone who knows the attempt id, but is not the job's funder in their session
    browser = visitor(awaiting)

    # when they send the wallet's decline
    response = browser.get(finish_url(awaiting.pk, result="grant_rejected"))

    # then the link still waits for the funder's real answer (or its expiry), and nothing is enqueued
    assert response.status_code in (200, 404)
    assert_unchanged(awaiting, tasks)
    # and the funder can still approve it
    approve = Client().get(finish_url(awaiting.pk, hash=valid_hash(awaiting), interact_ref=INTERACT_REF))
    assert approve.status_code == 302
    assert reload(awaiting).status == AttemptStatus.AUTHORIZED


def test_a_decline_without_a_session_is_noted_and_said_plainly(awaiting, tasks):
    # when the funder's browser comes back from the wallet without our session (a phone, say)
    response = Client().get(finish_url(awaiting.pk, result="grant_rejected"))

    # then the page says what happened and how to close the link now; the attempt notes the decline
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your wallet says this payment was not approved" in html
    assert f'href="/login?next=/jobs/{awaiting.job_id}"' in html
    after = reload(awaiting)
    assert (after.status, after.reported_result, after.error) == (
        AttemptStatus.AWAITING_AUTHORIZATION,
        "grant_rejected",
        "",
    )
    f.assert_nothing_enqueued(tasks)


def test_an_unknown_result_without_a_session_is_not_noted(awaiting, tasks):
    # when a result nobody defined arrives without the funder's session
    Client().get(finish_url(awaiting.pk, result="x" * 500))

    # then nothing is kept of it
    assert reload(awaiting).reported_result == ""
