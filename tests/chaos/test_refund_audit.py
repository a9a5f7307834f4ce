"""The chaos suite's refund audit on a ledger written by hand: a clean one passes, and a refund paid twice,
money moved for a refund we do not call refunded, or more refunded than was paid are each found."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.models import AttemptKind, AttemptStatus, Job, PaymentAttempt, Refund
from tests.chaos.runner import Fixture, audit_refunds
from tests.jobs import factories

pytestmark = pytest.mark.django_db

PAID = 500
BALANCE = 10_000


class Ledger:
    """What the local wallet's admin API answers for a funder `f` and a provider `p`."""

    def __init__(self) -> None:
        self.wallets: dict[str, dict[str, list[dict[str, Any]]]] = {
            "f": {"incomingPayments": [], "outgoingPayments": []},
            "p": {"incomingPayments": [], "outgoingPayments": []},
        }
        self.balances = {"f": BALANCE - PAID, "p": PAID}
        self.wallets["p"]["incomingPayments"].append(amounts(received=PAID, metadata={}))

    def refund(self, attempt: PaymentAttempt, value: int) -> None:
        """The provider's wallet pays `value` for the refund attempt into the funder's."""
        self.wallets["p"]["outgoingPayments"].append(
            {**amounts(sent=value), "metadata": {"idempotencyId": str(attempt.idempotency_id)}}
        )
        self.wallets["f"]["incomingPayments"].append(
            amounts(received=value, metadata={"attemptId": str(attempt.pk)})
        )
        self.balances["p"] -= value
        self.balances["f"] += value

    def payments(self, name: str) -> dict[str, list[dict[str, Any]]]:
        return self.wallets[name]

    def balance(self, name: str) -> int:
        return self.balances[name]


def amounts(*, sent: int = 0, received: int = 0, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "sentAmount": {"value": str(sent)},
        "receivedAmount": {"value": str(received)},
        "state": "COMPLETED" if sent else "PENDING",
        "metadata": metadata or {},
    }


def paid_job_with_refund(amount: int, status: str) -> tuple[Fixture, Refund, PaymentAttempt]:
    """A job paid `PAID`, a refund of `amount` in `status`, and its one attempt (succeeded if refunded)."""
    provider = factories.provider("p")
    quote = factories.quote(factories.job(factories.funder("f")), provider, amount_value=PAID)
    payment = factories.attempt(quote, AttemptStatus.SUCCEEDED)
    refunded = status == Refund.Status.REFUNDED
    Job.objects.filter(pk=quote.job_id).update(
        status="paid", paid_amount=PAID, refunds_committed=amount, refunded_amount=amount if refunded else 0
    )
    refund = Refund.objects.create(
        job_id=quote.job_id,
        payment=payment,
        amount_value=amount,
        asset_code="USD",
        asset_scale=2,
        requested_by=quote.job.funder,
        status=status,
    )
    attempt = factories.attempt(
        quote,
        AttemptStatus.SUCCEEDED if refunded else AttemptStatus.FAILED,
        kind=AttemptKind.REFUND,
        refund=refund,
        debit_amount=amount,
    )
    return (
        Fixture(jobs=[(quote.job_id, quote.pk, "")], funders=["f"], providers=["p"], balance=BALANCE),
        refund,
        attempt,
    )


def test_a_refund_paid_once_passes() -> None:
    # given a refund of 200 recorded refunded, and paid once at the wallet
    fixture, _, attempt = paid_job_with_refund(200, Refund.Status.REFUNDED)
    ledger = Ledger()
    ledger.refund(attempt, 200)

    # when the audit compares them
    found = audit_refunds(fixture, ledger)

    # then nothing is doubled, lost or over-refunded
    assert (found["duplicates"], found["lost"], found["over_refunded_jobs"]) == (0, 0, 0), found
    assert (found["refunded"], found["refunded_total"], found["refund_received_total"]) == (1, 200, 200)


def test_a_refund_paid_twice_is_a_duplicate() -> None:
    # given a refund of 200 the provider's wallet paid twice (same idempotency id)
    fixture, _, attempt = paid_job_with_refund(200, Refund.Status.REFUNDED)
    ledger = Ledger()
    ledger.refund(attempt, 200)
    ledger.refund(attempt, 200)

    # when the audit compares them
    found = audit_refunds(fixture, ledger)

    # then the second payment is a duplicate, and the books no longer match the wallet
    assert found["duplicates"] == 2, found  # one outgoing and one incoming payment too many
    assert found["lost"] > 0, found


def test_money_moved_for_a_refund_not_refunded_is_lost() -> None:
    # given a refund whose attempt we recorded failed, yet the wallet moved its money
    fixture, _, attempt = paid_job_with_refund(200, Refund.Status.AGREED)
    ledger = Ledger()
    ledger.refund(attempt, 200)

    # when the audit compares them
    found = audit_refunds(fixture, ledger)

    # then it is counted as lost (paid without a record)
    assert found["refund_paid_without_record"] == 1, found
    assert found["lost"] > 0, found


def test_more_received_back_than_was_paid_is_over_refunded() -> None:
    # given a full refund the funder's wallet received, then an unknown payment from the provider on top
    fixture, _, attempt = paid_job_with_refund(PAID, Refund.Status.REFUNDED)
    ledger = Ledger()
    ledger.refund(attempt, PAID)
    ledger.refund(attempt, 1)

    # when the audit compares them
    found = audit_refunds(fixture, ledger)

    # then the job is over-refunded
    assert found["over_refunded_jobs"] == 1, found
