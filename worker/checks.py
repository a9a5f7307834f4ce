"""What a wallet answered, checked against what the pipeline asked for, before anything is stored.

The rule: the marketplace moves exactly the approved amount, to the wallet the receiver registered (the
provider's for a payment, the funder's for a refund), or nothing, whatever a wallet answers. Each check
raises `Mismatch`, which ends the attempt with a message the payer can act on (the step never retries it)
and logs what differed. (Amounts are equal when value, asset code and scale all are.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from jobs.money import format_amount
from payments import Amount, IncomingPayment, OutgoingPayment, WalletAddress
from payments.models import Quote as OpenPaymentsQuote

NOTHING_PAID = "nothing was paid"
RECEIVER_LIED = (
    "The {whose} wallet answered with a different payment than we asked for; " + NOTHING_PAID + "."
)
RECEIVER_AMOUNT = "The {whose} wallet answered with a different amount; " + NOTHING_PAID + "."
RECEIVER_CLOSED = "The {whose} wallet answered with a payment that is already closed; " + NOTHING_PAID + "."
PROVIDER_LIED = RECEIVER_LIED.format(whose="provider's")
PROVIDER_AMOUNT = RECEIVER_AMOUNT.format(whose="provider's")
PROVIDER_CLOSED = RECEIVER_CLOSED.format(whose="provider's")
QUOTE_LIED = f"Your wallet quoted a different payment than we asked for; {NOTHING_PAID}."
QUOTE_FEE = "Your wallet's fee for this payment ({fee}) is more than {percent}% of it; " + NOTHING_PAID + "."
PAYMENT_LIED = (
    "Your wallet answered with a different payment than the one you approved. "
    "Check your wallet before paying again."
)


# The largest amount the database stores (a signed 64-bit column); the protocol allows up to 2**64 - 1.
LARGEST_STORED = 2**63 - 1


class Refused(Exception):
    """A wallet answered in a way the attempt cannot go on from: the message is for the funder, `differs`
    (what the log says) is the message unless given, `code` the attempt's error code."""

    def __init__(self, message: str, differs: str = "", code: str = "wallet_answer") -> None:
        super().__init__(message)
        self.differs = differs or message
        self.code = code


class Mismatch(Refused):
    """A wallet's answer differs from what we asked for."""


def under(url: str, base: str) -> bool:
    """Whether `url` lies under the server at `base` (a resource server's URL)."""
    return url.startswith(base.rstrip("/") + "/")


def incoming_payment(
    payment: IncomingPayment,
    receiver: WalletAddress,
    price: Amount | None,
    *,
    open_at: datetime | None = None,
    url: str | None = None,
    whose: str = "provider's",
) -> None:
    """The receiver's incoming payment is on the receiver's wallet (at `url`, when we know it), for exactly
    `price` (a payment's approved price; None for a refund's, which takes what the provider sends, in the
    receiver's asset), and still open at `open_at` (when given). `whose` names the wallet in the message."""
    if (
        payment.wallet_address != receiver.id
        or not under(payment.id, receiver.resource_server)
        or (url is not None and payment.id != url)
    ):
        raise Mismatch(
            RECEIVER_LIED.format(whose=whose), f"incoming payment {payment.id} of {payment.wallet_address}"
        )
    received = payment.received_amount
    if (
        payment.incoming_amount != price
        or (received.asset_code, received.asset_scale) != (receiver.asset_code, receiver.asset_scale)
        or received.value > LARGEST_STORED
    ):
        raise Mismatch(
            RECEIVER_AMOUNT.format(whose=whose),
            f"incoming amount {payment.incoming_amount} for {price}, received {received}",
        )
    if open_at is not None and (
        payment.completed or (payment.expires_at is not None and payment.expires_at <= open_at)
    ):
        raise Mismatch(
            RECEIVER_CLOSED.format(whose=whose),
            f"incoming payment completed={payment.completed} {payment.expires_at}",
        )


def op_quote(
    quote: OpenPaymentsQuote,
    sender: WalletAddress,
    receiver_url: str,
    price: Amount,
    max_fee_percent: int,
    *,
    fixed: Literal["receive", "debit"] = "receive",
) -> None:
    """The payer's quote pays our incoming payment from the payer's wallet in its asset: receiving exactly
    the approved price (a payment), or debiting exactly it (`fixed="debit"`: a refund, the amount leaving
    the provider's wallet); in one asset, its fee is within `max_fee_percent` of what is received."""
    debit, receive = quote.debit_amount, quote.receive_amount
    if quote.wallet_address != sender.id or quote.receiver != receiver_url:
        raise Mismatch(QUOTE_LIED, f"quote of {quote.wallet_address} to {quote.receiver}")
    if (receive if fixed == "receive" else debit) != price or receive.value <= 0:
        raise Mismatch(QUOTE_LIED, f"quote debits {debit}, receives {receive} for {fixed} {price}")
    if receive.value > LARGEST_STORED:
        raise Mismatch(QUOTE_LIED, f"quote receives {receive}")
    if (debit.asset_code, debit.asset_scale) != (sender.asset_code, sender.asset_scale) or (
        debit.value > LARGEST_STORED
    ):
        raise Mismatch(QUOTE_LIED, f"quote debits {debit} from a {sender.asset_code} wallet")
    same_asset = (debit.asset_code, debit.asset_scale) == (receive.asset_code, receive.asset_scale)
    fee = debit.value - receive.value
    if same_asset and fee < 0:
        # A wallet does not pay out more than it takes in one asset: the quote is not what will happen.
        raise Mismatch(QUOTE_LIED, f"quote debits {debit}, less than it receives {receive}")
    if same_asset and fee * 100 > receive.value * max_fee_percent:
        shown = format_amount(fee, debit.asset_code, debit.asset_scale)
        raise Mismatch(QUOTE_FEE.format(fee=shown, percent=max_fee_percent), f"fee {fee} on {receive}")


def outgoing_payment(
    payment: OutgoingPayment,
    sender_id: str,
    quote_url: str,
    receiver_url: str,
    debit: Amount,
    *,
    url: str | None = None,
) -> None:
    """The funder's outgoing payment (at `url`, when we know it) is the one approved: from the funder's
    wallet, paying our quote to our incoming payment, debiting the quoted amount."""
    if (
        (url is not None and payment.id != url)
        or payment.wallet_address != sender_id
        or payment.receiver != receiver_url
        or (payment.quote_id is not None and payment.quote_id != quote_url)
        or payment.debit_amount != debit
        or payment.sent_amount.value > LARGEST_STORED
    ):
        raise Mismatch(
            PAYMENT_LIED,
            f"outgoing payment of {payment.wallet_address} to {payment.receiver} "
            f"(quote {payment.quote_id}) debiting {payment.debit_amount}",
        )
