"""Resource-server rules: incoming payments, quotes, outgoing payments, grant spending, pagination.

Rafiki sources: ``open_payments/payment/incoming/service.ts``, ``quote/service.ts``,
``payment/outgoing/service.ts`` (limits, ``grantSpent*``), with the observed answers of
``docs/protocol-notes.md`` §7-§11. Everything runs under the store lock, no awaiting.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from .access import Authorization
from .errors import ResourceError
from .formats import js_order, new_uuid, parse_iso, parse_uint64
from .limits import IntervalError, current_window
from .models import IncomingPayment, OutgoingPayment, PaymentState, Quote, Wallet
from .pricing import Price, PricingError, price_fixed_debit, price_fixed_receive
from .state import Store


def ordered_metadata(metadata: object) -> dict[str, Any] | None:
    """A resource's metadata as the client sent it, keys in JavaScript's order (None if not an object)."""
    if not isinstance(metadata, dict):
        return None
    ordered = js_order(metadata)
    assert isinstance(ordered, dict)
    return ordered


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _money(value: Any, asset: tuple[str, int]) -> int:
    """The positive minor-unit value of an amount in ``asset``; 400 ``invalid amount`` otherwise."""
    number = parse_uint64(value.get("value"))
    if number is None or number <= 0 or (value.get("assetCode"), value.get("assetScale")) != asset:
        raise ResourceError(400, "invalid amount")
    return number


def asset_of(wallet: Wallet) -> tuple[str, int]:
    return wallet.asset_code, wallet.asset_scale


def receiver_active(store: Store, payment: IncomingPayment) -> bool:
    return not payment.completed and payment.expires_at > store.now()


# --- incoming payments ----------------------------------------------------------------------------


def create_incoming_payment(
    store: Store, *, wallet: Wallet, client_id: str | None, body: dict[str, Any]
) -> IncomingPayment:
    now = store.now()
    incoming_amount = _money(body["incomingAmount"], asset_of(wallet)) if "incomingAmount" in body else None
    latest = now + store.settings.incoming_payment_max_expiry_seconds * 1000
    if "expiresAt" in body:
        expires_at = parse_iso(body["expiresAt"])
        if expires_at <= now or expires_at > latest:
            raise ResourceError(400, "invalid expiresAt")
    else:
        expires_at = latest - 1  # Rafiki: createdAt + 30 days - 1 ms
    metadata = body.get("metadata")
    payment = IncomingPayment(
        id=new_uuid(),
        wallet=wallet.name,
        client_id=client_id,
        incoming_amount=incoming_amount,
        received=0,
        completed=False,
        created_at=now,
        expires_at=expires_at,
        metadata=ordered_metadata(metadata),
        ilp_address=f"{store.ilp_prefix}.{_b64url(secrets.token_bytes(64))}",
        shared_secret=_b64url(secrets.token_bytes(32)),
    )
    with store.lock:
        store.incoming[payment.id] = payment
    return payment


def complete_incoming_payment(store: Store, payment: IncomingPayment) -> IncomingPayment:
    with store.lock:
        if payment.completed:
            raise ResourceError(409, "wrong state")
        payment.completed = True
        return payment


def credit_incoming_payment(store: Store, payment: IncomingPayment, value: int) -> None:
    """Money arrived: raise ``receivedAmount`` and complete when the incoming amount is reached."""
    payment.received += value
    store.wallets[payment.wallet].balance += value
    if payment.incoming_amount is not None and payment.received >= payment.incoming_amount:
        payment.completed = True


# --- quotes ---------------------------------------------------------------------------------------


def _receiver(store: Store, url: str) -> IncomingPayment:
    payment_id = store.urls.incoming_payment_id(url)
    payment = store.incoming.get(payment_id) if payment_id else None
    if payment is None or not receiver_active(store, payment):
        raise ResourceError(400, "invalid receiver")
    return payment


def price(store: Store, *, wallet: Wallet, receiver: IncomingPayment, debit: Any, receive: Any) -> Price:
    """Price a payment to ``receiver``: fixed debit, fixed receive, or the receiver's remaining amount."""
    debit_asset = asset_of(wallet)
    receive_asset = asset_of(store.wallets[receiver.wallet])
    remaining = receiver.incoming_amount - receiver.received if receiver.incoming_amount is not None else None
    settings = store.settings
    try:
        if debit is not None:
            priced = price_fixed_debit(
                settings, _money(debit, debit_asset), debit_asset=debit_asset, receive_asset=receive_asset
            )
            if remaining is not None and priced.receive > remaining:
                raise ResourceError(400, "invalid amount")
            return priced
        if receive is not None:
            value = _money(receive, receive_asset)
            if remaining is not None and value > remaining:
                raise ResourceError(400, "invalid amount")
        elif remaining is not None:
            value = remaining
        else:
            raise ResourceError(400, "invalid amount")
        return price_fixed_receive(settings, value, debit_asset=debit_asset, receive_asset=receive_asset)
    except PricingError as exc:
        if "rate" in str(exc):
            raise ResourceError(500, "could not fetch rates") from exc
        raise ResourceError(400, "non-positive receive amount") from exc


def create_quote(
    store: Store,
    *,
    wallet: Wallet,
    client_id: str | None,
    receiver_url: str,
    debit: Any = None,
    receive: Any = None,
) -> Quote:
    with store.lock:
        receiver = _receiver(store, receiver_url)
        priced = price(store, wallet=wallet, receiver=receiver, debit=debit, receive=receive)
        now = store.now()
        expires_at = min(now + int(store.settings.quote_lifespan_seconds * 1000), receiver.expires_at)
        quote = Quote(
            id=new_uuid(),
            wallet=wallet.name,
            client_id=client_id,
            receiver=receiver_url,
            receiver_payment_id=receiver.id,
            debit_amount=priced.debit,
            debit_asset=asset_of(wallet),
            receive_amount=priced.receive,
            receive_asset=asset_of(store.wallets[receiver.wallet]),
            fee=priced.fee,
            created_at=now,
            expires_at=expires_at,
        )
        store.quotes[quote.id] = quote
        return quote


# --- outgoing payments ----------------------------------------------------------------------------


@dataclass(slots=True)
class Spent:
    """Amounts spent under a grant in the current interval (debit and receive minor units)."""

    debit: int
    receive: int
    payments: int


def _window(limits: dict[str, Any] | None, now: int) -> tuple[int, int] | None:
    """The current interval window; raises ResourceError(500) when the interval is malformed and
    ResourceError(403) when no interval contains ``now`` (future start, repetitions used up)."""
    interval = (limits or {}).get("interval")
    if not interval:
        return None
    try:
        window = current_window(interval, now)
    except IntervalError as exc:
        raise ResourceError(500, "Internal Server Error") from exc
    if window is None:
        raise ResourceError(403, "unauthorized")
    return window


def spent_under_grant(
    store: Store, grant_id: str, window: tuple[int, int] | None, *, exclude: str | None = None
) -> Spent:
    """Rafiki's sum: every payment of the grant in the window; a failed one counts what it sent."""
    spent = Spent(0, 0, 0)
    for payment in store.outgoing.values():
        if payment.grant_id != grant_id or payment.id == exclude:
            continue
        if window is not None and not window[0] <= payment.created_at < window[1]:
            continue
        spent.payments += 1
        if payment.failed:
            spent.debit += payment.sent
            spent.receive += (
                payment.receive_amount * payment.sent // payment.debit_amount if payment.debit_amount else 0
            )
        else:
            spent.debit += payment.debit_amount
            spent.receive += payment.receive_amount
    return spent


def _check_limits(store: Store, auth: Authorization, payment: OutgoingPayment) -> Spent:
    limits = auth.item.get("limits") or {}
    window = _window(limits, payment.created_at)
    if limits.get("receiver") and limits["receiver"] != payment.receiver:
        raise ResourceError(403, "unauthorized")
    debit_limit, receive_limit = limits.get("debitAmount"), limits.get("receiveAmount")
    if debit_limit and (debit_limit["assetCode"], debit_limit["assetScale"]) != payment.debit_asset:
        raise ResourceError(403, "unauthorized")
    if receive_limit and (receive_limit["assetCode"], receive_limit["assetScale"]) != payment.receive_asset:
        raise ResourceError(403, "unauthorized")
    spent = spent_under_grant(store, auth.grant.id, window, exclude=payment.id)
    if debit_limit and int(debit_limit["value"]) - spent.debit < payment.debit_amount:
        raise ResourceError(403, "unauthorized")
    if receive_limit and int(receive_limit["value"]) - spent.receive < payment.receive_amount:
        raise ResourceError(403, "unauthorized")
    return spent


def create_outgoing_payment(
    store: Store, *, wallet: Wallet, auth: Authorization, body: dict[str, Any]
) -> tuple[OutgoingPayment, Spent]:
    """Create from ``quoteId`` (or from ``incomingPayment`` + ``debitAmount`` with an implicit quote).

    The payment takes its quote's id, so a quote backs at most one payment (a retry is ``invalid quote``).
    Returns the payment and what the grant had spent before it.
    """
    with store.lock:
        if "incomingPayment" in body:
            quote = create_quote(
                store,
                wallet=wallet,
                client_id=auth.grant.client_id,
                receiver_url=body["incomingPayment"],
                debit=body["debitAmount"],
            )
        else:
            quote_id = store.urls.quote_id(body["quoteId"])
            found = store.quotes.get(quote_id) if quote_id else None
            if found is None:
                raise ResourceError(404, "unknown quote")
            quote = found
        receiver = store.incoming.get(quote.receiver_payment_id)
        if receiver is None or not receiver_active(store, receiver):
            raise ResourceError(400, "invalid quote")
        now = store.now()
        if quote.used or quote.id in store.outgoing or quote.wallet != wallet.name or quote.expires_at <= now:
            raise ResourceError(400, "invalid quote")
        metadata = body.get("metadata")
        payment = OutgoingPayment(
            id=quote.id,
            wallet=wallet.name,
            client_id=auth.grant.client_id,
            grant_id=auth.grant.id,
            receiver=quote.receiver,
            receiver_payment_id=quote.receiver_payment_id,
            debit_amount=quote.debit_amount,
            debit_asset=quote.debit_asset,
            receive_amount=quote.receive_amount,
            receive_asset=quote.receive_asset,
            fee=quote.fee,
            created_at=now,
            metadata=ordered_metadata(metadata),
        )
        spent = _check_limits(store, auth, payment)
        quote.used = True
        store.outgoing[payment.id] = payment
        return payment, spent


def grant_spent_amounts(store: Store, auth: Authorization) -> Spent | None:
    """``GET /outgoing-payment-grant``: spent in the current interval, None when nothing was paid."""
    with store.lock:
        limits = auth.item.get("limits") or {}
        try:
            window = _window(limits, store.now())
        except ResourceError as exc:
            if exc.status == 403:
                return None
            raise
        spent = spent_under_grant(store, auth.grant.id, window)
        return spent if spent.payments else None


def latest_payment_of_grant(store: Store, grant_id: str) -> OutgoingPayment | None:
    """The assets for the spent view come from the grant's payments."""
    latest = None
    for payment in store.outgoing.values():
        if payment.grant_id == grant_id:
            latest = payment
    return latest


def settle(store: Store, payment_id: str) -> None:
    """Move the money of one outgoing payment (the background step after ``--settle-delay``).

    The sender pays ``debitAmount`` (fee included), ``sentAmount`` becomes ``debitAmount - fee`` and the
    receiver gets ``receiveAmount``; a short balance or a receiver that is no longer open fails it.
    """
    with store.lock:
        payment = store.outgoing.get(payment_id)
        if payment is None or payment.state != PaymentState.FUNDING:
            return
        sender = store.wallets[payment.wallet]
        receiver = store.incoming.get(payment.receiver_payment_id)
        if receiver is None or not receiver_active(store, receiver):
            payment.state, payment.failure = PaymentState.FAILED, "receiver not active"
            return
        if sender.balance < payment.debit_amount:
            payment.state, payment.failure = PaymentState.FAILED, "insufficient balance"
            return
        sender.balance -= payment.debit_amount
        payment.sent = payment.debit_amount - payment.fee
        credit_incoming_payment(store, receiver, payment.receive_amount)
        payment.state = PaymentState.COMPLETED


# --- listing --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Page:
    items: list[Any]
    has_next: bool
    has_previous: bool


def paginate(items: list[Any], *, first: int | None, last: int | None, cursor: str | None) -> Page:
    """Cursor paging over ``items`` (newest first); the cursor is an item id, as in Rafiki."""
    index = {item.id: position for position, item in enumerate(items)}
    if cursor is not None and cursor not in index:
        return Page([], has_next=False, has_previous=False)
    if last is not None:
        end = index[cursor] if cursor is not None else len(items)
        start = max(0, end - last)
        return Page(items[start:end], has_next=end < len(items), has_previous=start > 0)
    size = first if first is not None else 20
    start = index[cursor] + 1 if cursor is not None else 0
    end = start + size
    return Page(items[start:end], has_next=end < len(items), has_previous=start > 0)
