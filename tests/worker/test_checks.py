"""worker.checks: a wallet's answer is stored only when it is exactly what we asked for."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from payments import Amount, IncomingPayment, OutgoingPayment, WalletAddress
from payments.models import Quote
from worker import checks
from worker.checks import Mismatch

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
PRICE = Amount(1250, "USD", 2)
RS = "https://wallet.example/op/t1"
FUNDER = WalletAddress("https://wallet.example/fiona", "USD", 2, "https://wallet.example/auth/t1", RS)
PROVIDER = replace(FUNDER, id="https://wallet.example/pavel")
INCOMING = IncomingPayment(
    id=f"{RS}/incoming-payments/in-1",
    wallet_address=PROVIDER.id,
    completed=False,
    received_amount=Amount(0, "USD", 2),
    created_at=NOW,
    incoming_amount=PRICE,
    expires_at=NOW + timedelta(hours=24),
)
QUOTE = Quote(
    id=f"{RS}/quotes/q-1",
    wallet_address=FUNDER.id,
    receiver=INCOMING.id,
    debit_amount=Amount(1300, "USD", 2),
    receive_amount=PRICE,
    method="ilp",
    created_at=NOW,
)
OUTGOING = OutgoingPayment(
    id=f"{RS}/outgoing-payments/out-1",
    wallet_address=FUNDER.id,
    receiver=INCOMING.id,
    debit_amount=QUOTE.debit_amount,
    receive_amount=PRICE,
    sent_amount=Amount(0, "USD", 2),
    created_at=NOW,
    quote_id=QUOTE.id,
)


def test_what_we_asked_for_passes_every_check() -> None:
    # then none of them raises
    checks.incoming_payment(INCOMING, PROVIDER, PRICE, open_at=NOW, url=INCOMING.id)
    checks.op_quote(QUOTE, FUNDER, INCOMING.id, PRICE, 20)
    checks.outgoing_payment(OUTGOING, FUNDER.id, QUOTE.id, INCOMING.id, QUOTE.debit_amount, url=OUTGOING.id)


@pytest.mark.parametrize(
    ("payment", "message"),
    [
        (replace(INCOMING, wallet_address=FUNDER.id), checks.PROVIDER_LIED),
        (replace(INCOMING, id="https://elsewhere.example/op/incoming-payments/in-1"), checks.PROVIDER_LIED),
        (replace(INCOMING, id=f"{RS}-evil/incoming-payments/in-1"), checks.PROVIDER_LIED),
        (replace(INCOMING, incoming_amount=Amount(1251, "USD", 2)), checks.PROVIDER_AMOUNT),
        (replace(INCOMING, incoming_amount=Amount(1250, "EUR", 2)), checks.PROVIDER_AMOUNT),
        (replace(INCOMING, incoming_amount=Amount(12500, "USD", 3)), checks.PROVIDER_AMOUNT),
        (replace(INCOMING, incoming_amount=None), checks.PROVIDER_AMOUNT),
        (replace(INCOMING, completed=True), checks.PROVIDER_CLOSED),
        (replace(INCOMING, expires_at=NOW), checks.PROVIDER_CLOSED),
    ],
)
def test_an_incoming_payment_that_is_not_ours_is_refused(payment: IncomingPayment, message: str) -> None:
    with pytest.raises(Mismatch) as refused:
        checks.incoming_payment(payment, PROVIDER, PRICE, open_at=NOW)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("quote", "message"),
    [
        (replace(QUOTE, wallet_address=PROVIDER.id), checks.QUOTE_LIED),
        (replace(QUOTE, receiver=f"{RS}/incoming-payments/other"), checks.QUOTE_LIED),
        (replace(QUOTE, receive_amount=Amount(1, "USD", 2)), checks.QUOTE_LIED),
        (replace(QUOTE, debit_amount=Amount(1300, "EUR", 2)), checks.QUOTE_LIED),
        (
            replace(QUOTE, debit_amount=Amount(1501, "USD", 2)),
            "Your wallet's fee for this payment ($2.51) is more than 20% of it; nothing was paid.",
        ),
    ],
)
def test_a_quote_for_another_payment_or_with_a_fee_out_of_line_is_refused(quote: Quote, message: str) -> None:
    with pytest.raises(Mismatch) as refused:
        checks.op_quote(quote, FUNDER, INCOMING.id, PRICE, 20)
    assert str(refused.value) == message


def test_a_fee_at_the_ceiling_passes() -> None:
    # given a fee of exactly 20 % of the price
    checks.op_quote(replace(QUOTE, debit_amount=Amount(1500, "USD", 2)), FUNDER, INCOMING.id, PRICE, 20)


@pytest.mark.parametrize(
    "payment",
    [
        replace(OUTGOING, id=f"{RS}/outgoing-payments/other"),
        replace(OUTGOING, wallet_address=PROVIDER.id),
        replace(OUTGOING, receiver=f"{RS}/incoming-payments/other"),
        replace(OUTGOING, quote_id=f"{RS}/quotes/other"),
        replace(OUTGOING, debit_amount=Amount(99900, "USD", 2)),
    ],
)
def test_an_outgoing_payment_other_than_the_approved_one_is_refused(payment: OutgoingPayment) -> None:
    with pytest.raises(Mismatch) as refused:
        checks.outgoing_payment(
            payment, FUNDER.id, QUOTE.id, INCOMING.id, QUOTE.debit_amount, url=OUTGOING.id
        )
    assert str(refused.value) == checks.PAYMENT_LIED


# A refund: the provider sends a fixed $15.00 to the funder's incoming payment, which asks no amount.
REFUND = Amount(1500, "USD", 2)
REFUND_INCOMING = replace(INCOMING, wallet_address=FUNDER.id, incoming_amount=None)
REFUND_QUOTE = replace(
    QUOTE, wallet_address=PROVIDER.id, debit_amount=REFUND, receive_amount=Amount(1450, "USD", 2)
)


def test_what_a_refund_asked_for_passes_every_check() -> None:
    # then none of them raises
    checks.incoming_payment(REFUND_INCOMING, FUNDER, None, open_at=NOW, whose="funder's")
    checks.op_quote(REFUND_QUOTE, PROVIDER, INCOMING.id, REFUND, 20, fixed="debit")


@pytest.mark.parametrize(
    "payment",
    [
        replace(REFUND_INCOMING, incoming_amount=Amount(1500, "USD", 2)),
        replace(REFUND_INCOMING, received_amount=Amount(0, "EUR", 2)),
        replace(REFUND_INCOMING, received_amount=Amount(0, "USD", 3)),
    ],
)
def test_a_refund_incoming_payment_with_an_amount_we_did_not_ask_for_is_refused(
    payment: IncomingPayment,
) -> None:
    with pytest.raises(Mismatch) as refused:
        checks.incoming_payment(payment, FUNDER, None, open_at=NOW, whose="funder's")
    assert str(refused.value) == "The funder's wallet answered with a different amount; nothing was paid."


@pytest.mark.parametrize(
    ("quote", "message"),
    [
        (replace(REFUND_QUOTE, debit_amount=Amount(1501, "USD", 2)), checks.QUOTE_LIED),
        (replace(REFUND_QUOTE, debit_amount=Amount(1500, "EUR", 2)), checks.QUOTE_LIED),
        (replace(REFUND_QUOTE, receive_amount=Amount(0, "USD", 2)), checks.QUOTE_LIED),
        (replace(REFUND_QUOTE, wallet_address=FUNDER.id), checks.QUOTE_LIED),
        (
            replace(REFUND_QUOTE, receive_amount=Amount(1249, "USD", 2)),
            "Your wallet's fee for this payment ($2.51) is more than 20% of it; nothing was paid.",
        ),
    ],
)
def test_a_refund_quote_other_than_the_agreed_amount_is_refused(quote: Quote, message: str) -> None:
    with pytest.raises(Mismatch) as refused:
        checks.op_quote(quote, PROVIDER, INCOMING.id, REFUND, 20, fixed="debit")
    assert str(refused.value) == message


def test_a_quote_paying_out_more_than_it_debits_in_one_asset_is_refused() -> None:
    # given a quote whose debit is below what it says the receiver gets (a negative fee)
    quote = replace(QUOTE, debit_amount=Amount(1249, "USD", 2))
    # then it is not what will happen
    with pytest.raises(Mismatch) as refused:
        checks.op_quote(quote, FUNDER, INCOMING.id, PRICE, 20)
    assert str(refused.value) == checks.QUOTE_LIED
