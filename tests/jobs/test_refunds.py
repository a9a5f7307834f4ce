"""Refunds at the service layer: who may ask, agree, decline and cancel, and that refunds of a job never
add up to more than the provider received for it, whatever the interleaving (the database keeps it)."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse

from jobs import services, states
from jobs.models import AttemptKind, AttemptStatus, Job, PaymentAttempt, Refund
from tests.jobs import factories as f
from tests.services import require

pytestmark = pytest.mark.django_db


def paid_job(amount: int = 4500) -> Job:
    """A job its funder paid `amount` for (minor units of USD) to the provider `pavel`."""
    job = f.job(f.funder())
    payment = f.attempt(f.quote(job, f.provider(), amount_value=amount), AttemptStatus.SUCCEEDED)
    PaymentAttempt.objects.filter(pk=payment.pk).update(received_amount=amount)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.PAID, paid_amount=amount)
    job.refresh_from_db()
    return job


def provider_of(job: Job):  # type: ignore[no-untyped-def]
    return job.quotes.get().provider


def ledger(job: Job) -> tuple[object, ...]:
    """Everything a refusal must leave as it was."""
    job.refresh_from_db()
    refunds = list(Refund.objects.filter(job=job).values_list("status", "amount_value").order_by("pk"))
    return job.refunds_committed, job.refunded_amount, refunds, f.statuses(job)


def test_the_funder_asks_for_part_then_the_rest() -> None:
    # given a $45.00 paid job
    job = paid_job()
    # when the funder asks for 15.00, then for what is left
    first = services.refund_request(job_id=job.pk, funder=job.funder, amount=1500, reason="  Half done. ")
    rest = services.refund_request(job_id=job.pk, funder=job.funder, amount=None, reason="")
    # then both are requested, in the paid quote's asset, and everything paid is committed
    assert [(r.amount_value, r.asset_code, r.asset_scale, r.status) for r in (first, rest)] == [
        (1500, "USD", 2, "requested"),
        (3000, "USD", 2, "requested"),
    ]
    assert first.reason == "Half done."
    assert ledger(job)[:2] == (4500, 0)
    assert services.refund_remaining(job) == 0


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (4501, "At most $45.00 can still be refunded on this job."),
        (0, "Enter an amount greater than zero."),
        (-5, "Enter an amount greater than zero."),
    ],
)
def test_a_request_outside_what_is_left_is_refused_and_changes_nothing(amount: int, message: str) -> None:
    # given a paid job
    job = paid_job()
    before = ledger(job)
    # when the funder asks for more than was paid, or for nothing
    with pytest.raises(services.ActionRefused) as refused:
        services.refund_request(job_id=job.pk, funder=job.funder, amount=amount, reason="")
    # then it is refused in plain words and nothing changed
    assert str(refused.value) == message
    assert ledger(job) == before


def test_a_request_above_the_remainder_is_refused() -> None:
    # given a paid job with 30.00 of its 45.00 already asked back
    job = paid_job()
    services.refund_request(job_id=job.pk, funder=job.funder, amount=3000, reason="")
    before = ledger(job)
    # when the funder asks for 15.01 more
    with pytest.raises(services.ActionRefused) as refused:
        services.refund_request(job_id=job.pk, funder=job.funder, amount=1501, reason="")
    # then
    assert str(refused.value) == "At most $15.00 can still be refunded on this job."
    assert ledger(job) == before


def test_the_provider_cannot_ask_for_a_refund_for_themselves() -> None:
    # given a paid job
    job = paid_job()
    before = ledger(job)
    # when its provider uses the funder's action
    with pytest.raises(services.ActionRefused) as refused:
        services.refund_request(job_id=job.pk, funder=provider_of(job), amount=100, reason="")
    # then
    assert str(refused.value) == services.ONLY_FUNDER_ASKS
    assert ledger(job) == before


def test_an_unpaid_job_cannot_be_refunded() -> None:
    # given a job with a quote and a payment link out, not paid
    job = f.job(f.funder())
    f.attempt(f.quote(job, f.provider()), AttemptStatus.AWAITING_AUTHORIZATION)
    before = ledger(job)
    # when its funder asks for a refund
    with pytest.raises(services.ActionRefused) as refused:
        services.refund_request(job_id=job.pk, funder=job.funder, amount=None, reason="")
    # then
    assert str(refused.value) == services.NOT_PAID
    assert ledger(job) == before


def test_a_stranger_finds_no_job_and_no_refund() -> None:
    # given a paid job with a refund asked for, and someone else entirely
    job = paid_job()
    refund = services.refund_request(job_id=job.pk, funder=job.funder, amount=1000, reason="")
    stranger = f.user("sam", funder=True, provider=True)
    before = ledger(job)
    # when the stranger tries every refund action, then to them nothing exists
    with pytest.raises(Job.DoesNotExist):
        services.refund_request(job_id=job.pk, funder=stranger, amount=100, reason="")
    with pytest.raises(Job.DoesNotExist):
        services.refund_offer(job_id=job.pk, provider=stranger, amount=100, reason="")
    with pytest.raises(Refund.DoesNotExist):
        services.refund_agree(refund_id=refund.pk, provider=stranger)
    with pytest.raises(Refund.DoesNotExist):
        services.refund_decline(refund_id=refund.pk, provider=stranger, reason="No.")
    with pytest.raises(Refund.DoesNotExist):
        services.refund_cancel(refund_id=refund.pk, funder=stranger)
    # and nothing changed
    assert ledger(job) == before


def test_agreeing_twice_starts_one_attempt_paying_the_funder_from_the_provider() -> None:
    # given a requested refund
    job = paid_job()
    refund = services.refund_request(job_id=job.pk, funder=job.funder, amount=1500, reason="")
    # when the provider agrees twice (a double click)
    first = services.refund_agree(refund_id=refund.pk, provider=provider_of(job))
    second = services.refund_agree(refund_id=refund.pk, provider=provider_of(job))
    # then one attempt, from the provider's wallet to the funder's, for the refund's amount
    assert (first.created, second.created, second.attempt.pk) == (True, False, first.attempt.pk)
    attempt = PaymentAttempt.objects.get(kind=AttemptKind.REFUND)
    assert (attempt.sender_wallet, attempt.receiver_wallet) == (
        "https://wallet.example/pavel",
        "https://wallet.example/fiona",
    )
    assert (attempt.refund_id, attempt.amount_value, attempt.payer_id) == (
        refund.pk,
        1500,
        provider_of(job).pk,
    )
    refund.refresh_from_db()
    assert refund.status == "agreed"
    assert refund.decided_at is not None


def test_declining_gives_the_amount_back_to_what_may_be_refunded() -> None:
    # given a requested refund of everything
    job = paid_job()
    refund = services.refund_request(job_id=job.pk, funder=job.funder, amount=None, reason="")
    # when the provider declines it with a reason
    services.refund_decline(refund_id=refund.pk, provider=provider_of(job), reason="The work was delivered.")
    # then the funder reads the reason, and may ask again
    refund.refresh_from_db()
    assert (refund.status, refund.decline_reason) == ("declined", "The work was delivered.")
    assert ledger(job)[:2] == (0, 0)
    assert services.refund_remaining(job) == 4500


def test_a_refund_being_paid_cannot_be_declined() -> None:
    # given an agreed refund whose link is out
    job = paid_job()
    refund = services.refund_request(job_id=job.pk, funder=job.funder, amount=1500, reason="")
    services.refund_agree(refund_id=refund.pk, provider=provider_of(job))
    before = ledger(job)
    # when the provider tries to decline it
    with pytest.raises(services.ActionRefused) as refused:
        services.refund_decline(refund_id=refund.pk, provider=provider_of(job), reason="")
    # then
    assert str(refused.value) == services.REFUND_NOT_DECLINABLE
    assert ledger(job) == before


def test_the_funder_withdraws_an_unanswered_request_only() -> None:
    # given two requests, one already agreed
    job = paid_job()
    open_one = services.refund_request(job_id=job.pk, funder=job.funder, amount=1000, reason="")
    agreed = services.refund_request(job_id=job.pk, funder=job.funder, amount=500, reason="")
    services.refund_agree(refund_id=agreed.pk, provider=provider_of(job))
    # when the funder cancels both
    services.refund_cancel(refund_id=open_one.pk, funder=job.funder)
    with pytest.raises(services.ActionRefused) as refused:
        services.refund_cancel(refund_id=agreed.pk, funder=job.funder)
    # then only the unanswered one is cancelled and released
    assert str(refused.value) == services.REFUND_NOT_OPEN
    assert ledger(job)[:3] == (500, 0, [("cancelled", 1000), ("agreed", 500)])


def test_the_provider_offers_a_refund_on_their_own() -> None:
    # given a paid job
    job = paid_job()
    # when the provider refunds 10.00 without being asked (and the funder tries to use that action)
    offered = services.refund_offer(job_id=job.pk, provider=provider_of(job), amount=1000, reason="Late.")
    with pytest.raises(services.ActionRefused) as refused:
        services.refund_offer(job_id=job.pk, provider=job.funder, amount=1000, reason="")
    # then the refund is agreed at once and its first attempt is preparing the link
    assert str(refused.value) == services.NOT_PAID_PROVIDER
    refund = Refund.objects.get()
    assert (refund.status, refund.amount_value, refund.by_provider) == ("agreed", 1000, True)
    assert (offered.created, offered.attempt.status, offered.attempt.refund_id) == (
        True,
        "generating",
        refund.pk,
    )
    assert ledger(job)[:2] == (1000, 0)


def test_a_provider_wallet_in_another_asset_cannot_refund() -> None:
    # given a requested refund, and a provider whose wallet now holds EUR
    job = paid_job()
    refund = services.refund_request(job_id=job.pk, funder=job.funder, amount=1500, reason="")
    provider = provider_of(job)
    provider.profile.asset_code = "EUR"
    provider.profile.save()
    # when they agree
    with pytest.raises(services.ActionRefused) as refused:
        services.refund_agree(refund_id=refund.pk, provider=provider)
    # then nothing starts, and the refund still waits for an answer
    assert str(refused.value) == (
        "You were paid in USD, but your wallet now holds EUR; refund from a wallet in the asset you were "
        "paid in."
    )
    assert ledger(job)[:3] == (1500, 0, [("requested", 1500)])
    assert f.statuses(job) == ["succeeded"]


def test_a_refund_attempt_that_succeeds_refunds_the_refund_once() -> None:
    # given an agreed refund whose payment is processing
    job = paid_job()
    refund = services.refund_request(job_id=job.pk, funder=job.funder, amount=1500, reason="")
    attempt = services.refund_agree(refund_id=refund.pk, provider=provider_of(job)).attempt
    PaymentAttempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.PROCESSING)
    # when it succeeds (and a second delivery tries the same)
    assert states.transition(attempt.pk, to=AttemptStatus.SUCCEEDED, received_amount=1500)
    assert not states.transition(attempt.pk, to=AttemptStatus.SUCCEEDED, received_amount=1500)
    # then the refund is refunded and counted on the job once; the job stays paid
    refund.refresh_from_db()
    assert (refund.status, refund.refunded_at is not None) == ("refunded", True)
    job.refresh_from_db()
    assert (job.status, job.paid_amount, job.refunds_committed, job.refunded_amount) == (
        "paid",
        4500,
        1500,
        1500,
    )


def test_the_database_refuses_refunds_above_what_was_paid_whatever_the_code_checked() -> None:
    # given a paid job with everything asked back
    job = paid_job()
    services.refund_request(job_id=job.pk, funder=job.funder, amount=None, reason="")
    # when anything tries to commit one minor unit more, or to refund more than was committed
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.filter(pk=job.pk).update(refunds_committed=F("refunds_committed") + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.filter(pk=job.pk).update(refunded_amount=4501)
    # and an unpaid job cannot have anything committed at all
    unpaid = f.job(job.funder, title="Another")
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.filter(pk=unpaid.pk).update(refunds_committed=1)
    # then
    assert ledger(job)[:2] == (4500, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_never_commit_more_than_was_paid() -> None:
    # given a paid job, PostgreSQL, and eight requests for 10.00 of its 45.00 sent at the same moment
    require(connection.vendor == "postgresql", "PostgreSQL", "set DATABASE_URL to a PostgreSQL database")
    job = paid_job()
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def ask() -> None:
        start.wait()
        try:
            services.refund_request(job_id=job.pk, funder=job.funder, amount=1000, reason="")
            outcomes.append("requested")
        except services.ActionRefused as refused:
            outcomes.append(str(refused))
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly four fit, the others are refused in plain words
    assert sorted(outcomes) == sorted(
        ["requested"] * 4 + ["At most $5.00 can still be refunded on this job."] * 4
    )
    assert ledger(job)[:2] == (4000, 0)


def test_a_forged_finish_callback_for_a_refund_changes_nothing() -> None:
    # given a refund whose link is out at the provider's wallet
    job = paid_job()
    refund = services.refund_request(job_id=job.pk, funder=job.funder, amount=1500, reason="")
    attempt = services.refund_agree(refund_id=refund.pk, provider=provider_of(job)).attempt
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        status=AttemptStatus.AWAITING_AUTHORIZATION,
        client_nonce="SECRET-client-nonce",
        interact_nonce="SECRET-interact-nonce",
        sender_auth_server=f.AUTH_SERVER,
    )
    before = ledger(job)
    url = reverse("payment-finish", kwargs={"attempt_id": attempt.pk})
    # when someone sends a made-up hash, and the funder (not the payer of a refund) sends a decline
    forged = f.logged_in(provider_of(job)).get(
        url + "?" + urlencode({"hash": "Zm9yZ2Vk", "interact_ref": "x"})
    )
    declined = f.logged_in(job.funder).get(url + "?" + urlencode({"result": "grant_rejected"}))
    # then the hash is refused, the decline is only noted, and nothing else changed
    assert forged.status_code == 400
    assert "We could not confirm that this approval came from your wallet" in forged.content.decode()
    assert declined.status_code == 200
    assert ledger(job) == before
    assert PaymentAttempt.objects.get(pk=attempt.pk).reported_result == "grant_rejected"


def test_a_refund_links_outcomes_name_the_provider_for_both_sides() -> None:
    # given two refunds whose links are out at the provider's wallet
    job = paid_job()
    provider = provider_of(job)
    links = []
    for amount in (1000, 500):
        refund = services.refund_request(job_id=job.pk, funder=job.funder, amount=amount, reason="")
        attempt = services.refund_agree(refund_id=refund.pk, provider=provider).attempt
        PaymentAttempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.AWAITING_AUTHORIZATION)
        links.append(PaymentAttempt.objects.select_related("job", "quote").get(pk=attempt.pk))
    # when the provider cancels one, and the other's link expires unused after a reported decline
    assert services.attempt_cancel(attempt_id=links[0].pk, refund=True)
    PaymentAttempt.objects.filter(pk=links[1].pk).update(reported_result="grant_rejected")
    links[1].refresh_from_db()
    # then what both sides read names the provider
    assert PaymentAttempt.objects.get(pk=links[0].pk).error == "The provider cancelled this refund link."
    assert services.attempt_expiry(links[1]) == (
        "declined",
        "The provider declined the refund in their wallet.",
    )
    links[1].reported_result = ""
    assert services.attempt_expiry(links[1]) == (
        "expired",
        "This refund link expired before the provider approved it; they can get a new link.",
    )
