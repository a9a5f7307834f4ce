"""The payment pipeline: the steps the Celery tasks run for one payment attempt.

Every step starts from what the attempt has stored, so a redelivered, repeated or parallel task continues
where the last one stopped. A lease (`jobs.leases`) lets one delivery work on an attempt at a time; what the
delivery learns is written when it lets go (with the status change, or before a retry). Before a call that
would create something twice if repeated (incoming payment, outgoing payment, grant continuation) the
intent is recorded; a retry that finds the intent without the result looks the resource up before creating
it again. A crash loses nothing else that matters: a quote or a grant nobody has seen is simply made again.

Steps return a `Next` for the task to schedule, raise `RetryLater` to be run again after a wait, and let
retryable `payments` errors (timeouts, 5xx, 429) propagate for the task's backoff. Terminal errors end the
attempt with a message a funder can act on.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Literal, TypeVar

from django.conf import settings
from django.utils import timezone

from jobs.leases import Lease, held_for, leased
from jobs.models import AttemptStatus as S
from jobs.models import PaymentAttempt
from jobs.states import record, transition
from marketplace.logs import add_log_context, log_context
from payments import (
    AccessItem,
    AccessToken,
    Amount,
    Grant,
    HTTPError,
    InteractRequest,
    InvalidQuote,
    InvalidReceiver,
    Limits,
    NotFound,
    OpenPaymentsError,
    OutgoingPayment,
    PendingGrant,
    TooFast,
    TransportError,
    Unauthorized,
    UnsafeURLError,
    WalletAddress,
)
from payments.models import Continuation, IncomingPayment, PaginatedList, Quote
from worker.client import open_payments_client
from worker.failpoints import failpoint
from worker.tokens import shared_key, token_fields, using_shared, using_token

log = logging.getLogger("worker.pipeline")
T = TypeVar("T")

LIST_PAGE = 100
LIST_PAGES = 20


@dataclass(frozen=True)
class Next:
    """The task to schedule for the attempt after this step, and after how many seconds."""

    task: Literal["continue_grant", "poll"]
    countdown: float


class Refused(Exception):
    """A wallet answered in a way this attempt cannot go on from; the message is for the funder."""


class RetryLater(Exception):
    """Run this step again after `countdown` seconds (a wait, not a failure)."""

    def __init__(self, countdown: float) -> None:
        super().__init__(f"retry in {countdown:.1f}s")
        self.countdown = countdown


def pacing(name: str) -> int:
    """One of the pipeline's timing settings."""
    return int(settings.PAYMENT_PIPELINE[name])


def is_transient(exc: BaseException) -> bool:
    """Whether repeating the same call later may succeed (timeouts, dropped connections, 5xx, 429)."""
    return isinstance(exc, TransportError) or (isinstance(exc, HTTPError) and exc.retryable)


def plain_reason(exc: OpenPaymentsError) -> str:
    """What a funder reads when a wallet refused a step."""
    if isinstance(exc, UnsafeURLError):
        return "One of the wallet addresses cannot be used. Check both wallet addresses and try again."
    if isinstance(exc, HTTPError) and exc.status in (401, 403):
        return "The wallet refused our request. Please try again; if it keeps failing, contact support."
    if isinstance(exc, NotFound):
        return "A wallet did not recognise this payment. Check both wallet addresses and try again."
    return "The wallet could not prepare this payment. Please try again."


@contextmanager
def failing_terminally(lease: Lease, status: str) -> Iterator[None]:
    """Ends the attempt as failed on an error retrying cannot fix; lets retryable ones through."""
    try:
        yield
    except Refused as exc:
        log.warning("step refused: %s", exc)
        lease.end(to=S.FAILED, source=status, error=str(exc))
    except OpenPaymentsError as exc:
        if is_transient(exc):
            raise
        log.warning("step failed: %s", exc)
        lease.end(to=S.FAILED, source=status, error=plain_reason(exc))


def load(attempt_id: str) -> PaymentAttempt:
    """The attempt with its job and quote; the log lines that follow name its job."""
    attempt = PaymentAttempt.objects.select_related("job", "quote").get(pk=attempt_id)
    add_log_context(job_id=attempt.job_id)
    return attempt


def wallets(attempt: PaymentAttempt) -> tuple[WalletAddress, WalletAddress]:
    """The sender's and the receiver's wallet address documents (cached by the client; when neither is
    cached, both are fetched at the same time)."""
    lookup = open_payments_client().wallet_addresses.get
    if not (cached(attempt.sender_wallet) or cached(attempt.receiver_wallet)):
        with ThreadPoolExecutor(max_workers=1) as pool:
            receiver = pool.submit(lookup, attempt.receiver_wallet)
            return lookup(attempt.sender_wallet), receiver.result()
    return lookup(attempt.sender_wallet), lookup(attempt.receiver_wallet)


def cached(wallet_url: str) -> bool:
    """Whether this process holds a fresh copy of the wallet address document."""
    return open_payments_client().wallet_addresses.is_cached(wallet_url)


# Every attempt uses the same non-interactive grants: one token per provider wallet for incoming payments
# (create, read, list, complete) and one per funder auth server for quotes (see worker.tokens).
INCOMING_ACTIONS = ("create", "read", "list", "complete")


def incoming_grant(receiver: WalletAddress) -> AccessToken:
    """A new incoming-payment grant's token at the provider's wallet."""
    grant = open_payments_client().grants.request(
        receiver, access=[AccessItem.incoming_payment(INCOMING_ACTIONS, receiver.id)]
    )
    if not isinstance(grant, Grant):
        raise Refused("The provider's wallet asks for consent before it accepts payments; it cannot be paid.")
    return grant.access_token


def with_incoming_token(
    attempt: PaymentAttempt, receiver: WalletAddress, call: Callable[[AccessToken], T]
) -> T:
    """`call(token)` with the provider wallet's shared incoming-payment token (or, for an attempt made
    before tokens were shared, its own)."""
    if attempt.incoming_token:
        return using_token(attempt, "incoming", call)
    key = shared_key("incoming-payment", receiver.auth_server, receiver.id)
    return using_shared(
        key, "incoming-payment", receiver.auth_server, partial(incoming_grant, receiver), call
    )


def quote_grant(sender: WalletAddress) -> AccessToken:
    """A new quote grant's token at the funder's auth server."""
    grant = open_payments_client().grants.request(sender, access=[AccessItem.quote(("create", "read"))])
    if not isinstance(grant, Grant):
        raise Refused("Your wallet asks for consent before it quotes; it cannot be used here.")
    return grant.access_token


def with_quote_token(sender: WalletAddress, call: Callable[[AccessToken], T]) -> T:
    """`call(token)` with the shared quote token of the funder's auth server."""
    key = shared_key("quote", sender.auth_server)
    return using_shared(key, "quote", sender.auth_server, partial(quote_grant, sender), call)


def finish_uri(attempt: PaymentAttempt) -> str:
    """Where the funder's wallet sends the browser back after consent."""
    return f"{settings.PUBLIC_BASE_URL}/payments/finish/{attempt.pk}"


def busy(attempt_id: str, status: str) -> None:
    """Another delivery holds the attempt: try again once its lease runs out, unless the step is done."""
    add_log_context(
        job_id=PaymentAttempt.objects.filter(pk=attempt_id).values_list("job_id", flat=True).first()
    )
    left = held_for(attempt_id, status=status)
    if left is not None:
        raise RetryLater(max(1.0, left))


# --- payments.generate_link ---------------------------------------------------------------------


@log_context()  # the job named by `load` stays in the step's lines only
def generate_link(attempt_id: str) -> Next | None:
    """Incoming payment, quote and interactive grant; then the attempt awaits the funder's consent.

    Two writes: the claim, which also records the intent to create the incoming payment, and the status
    change, which stores everything learned with the link."""
    with leased(attempt_id, status=S.GENERATING, mark="incoming_payment_requested_at") as lease:
        if lease is None:
            return busy(attempt_id, S.GENERATING)
        attempt = load(attempt_id)
        with failing_terminally(lease, S.GENERATING):
            sender, receiver = wallets(attempt)
            ensure_incoming_payment(attempt, receiver, lease)
            ensure_quote(attempt, sender, lease)
            link = ensure_grant(attempt, sender)
            if lease.end(to=S.AWAITING_AUTHORIZATION, source=S.GENERATING, **link):
                log.info("payment link ready")
    return None


def ensure_incoming_payment(attempt: PaymentAttempt, receiver: WalletAddress, lease: Lease) -> None:
    """The provider's incoming payment for this attempt: created once, found again after a crash."""
    if attempt.incoming_payment_url:
        return
    client = open_payments_client()
    if lease.before(attempt.incoming_payment_requested_at):
        found = find_incoming_payment(attempt, receiver)
        if found is not None:
            store_incoming_payment(attempt, found, lease)
            return
    now = timezone.now()
    quote = attempt.quote
    failpoint("incoming_payment.before_create")
    payment = with_incoming_token(
        attempt,
        receiver,
        lambda token: client.incoming_payments.create(
            receiver,
            token=token,
            incoming_amount=Amount(quote.amount_value, quote.asset_code, quote.asset_scale),
            expires_at=now + timedelta(hours=pacing("INCOMING_PAYMENT_HOURS")),
            metadata={
                "description": f"Job #{attempt.job_id}: {attempt.job.title}",
                "externalRef": f"job-{attempt.job_id}",
                "attemptId": str(attempt.pk),
            },
        ),
    )
    failpoint("incoming_payment.created")
    store_incoming_payment(attempt, payment, lease)


def find_incoming_payment(attempt: PaymentAttempt, receiver: WalletAddress) -> IncomingPayment | None:
    """The incoming payment an earlier delivery created for this attempt, if the wallet has one."""
    lister = partial(open_payments_client().incoming_payments.list, receiver)
    use = partial(with_incoming_token, attempt, receiver)
    return find_by_metadata(use, lister, "attemptId", str(attempt.pk))


def find_by_metadata(
    use: Callable[[Callable[[AccessToken], PaginatedList[T]]], PaginatedList[T]],
    lister: Callable[..., PaginatedList[T]],
    key: str,
    value: str,
) -> T | None:
    """The first listed resource whose `metadata[key]` is `value`, paging with the token `use` gives."""
    cursor: str | None = None
    for _ in range(LIST_PAGES):
        page = use(lambda token, at=cursor: lister(token=token, first=LIST_PAGE, cursor=at))
        for item in page.items:
            if (getattr(item, "metadata", None) or {}).get(key) == value:
                return item
        if not page.has_next_page:
            return None
        cursor = page.end_cursor
    return None


def store_incoming_payment(attempt: PaymentAttempt, payment: IncomingPayment, lease: Lease) -> None:
    """Keeps the incoming payment on the attempt (in memory, and on the lease for the database)."""
    amount = payment.incoming_amount
    fields: dict[str, object] = {
        "incoming_payment_url": payment.id,
        "incoming_amount": amount.value if amount else None,
        "receive_asset_code": amount.asset_code if amount else payment.received_amount.asset_code,
        "receive_asset_scale": amount.asset_scale if amount else payment.received_amount.asset_scale,
    }
    learn(attempt, lease, fields)


def learn(attempt: PaymentAttempt, lease: Lease, fields: dict[str, object]) -> None:
    """Sets `fields` on the attempt in memory, and keeps them on the lease for the database."""
    lease.keep(**fields)
    for name, value in fields.items():
        setattr(attempt, name, value)


def new_quote(attempt: PaymentAttempt, sender: WalletAddress) -> Quote:
    """A fresh quote at the funder's wallet for the attempt's incoming payment."""
    client = open_payments_client()
    return with_quote_token(
        sender, lambda token: client.quotes.create(sender, token=token, receiver=attempt.incoming_payment_url)
    )


def quote_fields(quote: Quote) -> dict[str, object]:
    """The attempt fields that store `quote`."""
    return {
        "quote_url": quote.id,
        "debit_amount": quote.debit_amount.value,
        "debit_asset_code": quote.debit_amount.asset_code,
        "debit_asset_scale": quote.debit_amount.asset_scale,
        "receive_amount": quote.receive_amount.value,
        "quote_expires_at": quote.expires_at,
    }


def ensure_quote(attempt: PaymentAttempt, sender: WalletAddress, lease: Lease) -> None:
    """The funder's quote for the incoming payment (a repeated quote moves no money)."""
    if attempt.quote_url:
        return
    fields = quote_fields(new_quote(attempt, sender))
    failpoint("quote.created")
    learn(attempt, lease, fields)


def ensure_grant(attempt: PaymentAttempt, sender: WalletAddress) -> dict[str, object]:
    """The interactive outgoing-payment grant, limited to the quote's debit amount: the attempt fields
    holding it, its nonce and the payment URL, for the caller to store together (none when the attempt
    has its link). A grant whose answer is lost was never shown to anyone; the retry asks for another."""
    if attempt.payment_url:
        return {}
    nonce = attempt.client_nonce or secrets.token_urlsafe(32)
    debit = Amount(
        int(attempt.debit_amount or 0), attempt.debit_asset_code, int(attempt.debit_asset_scale or 0)
    )
    failpoint("grant.before_create")
    grant = open_payments_client().grants.request(
        sender,
        access=[
            AccessItem.outgoing_payment(
                sender.id, Limits(debit_amount=debit), actions=("create", "read", "list")
            )
        ],
        interact=InteractRequest(finish_uri=finish_uri(attempt), nonce=nonce),
    )
    failpoint("grant.created")
    if not isinstance(grant, PendingGrant) or not grant.redirect or not grant.finish_nonce:
        raise Refused("Your wallet did not offer a page to authorize the payment; it cannot be used here.")
    now = timezone.now()
    return {
        "client_nonce": nonce,
        "sender_auth_server": sender.auth_server,
        "payment_url": grant.redirect,
        "interact_nonce": grant.finish_nonce,
        "continue_uri": grant.continuation.uri,
        "continue_token": grant.continuation.access_token,
        "continue_wait": grant.continuation.wait or 0,
        "link_ready_at": now,
        "authorization_expires_at": now + timedelta(seconds=pacing("AUTHORIZATION_SECONDS")),
    }


# --- payments.continue_grant --------------------------------------------------------------------

AUTHORIZE_AGAIN = (
    "Your wallet could not confirm this authorization. Please get a new link and authorize again."
)
PRICE_CHANGED = "The price changed while you were in your wallet. Please get a new link."


@log_context()
def continue_grant(attempt_id: str) -> Next | None:
    """After consent: the access token, then the outgoing payment; the attempt moves to processing."""
    with leased(attempt_id, status=S.AUTHORIZED) as lease:
        if lease is None:
            return busy(attempt_id, S.AUTHORIZED)
        attempt = load(attempt_id)
        with failing_terminally(lease, S.AUTHORIZED):
            if not attempt.access_token and not obtain_access_token(attempt):
                return None
            sender, _ = wallets(attempt)
            payment_url = ensure_outgoing_payment(attempt, sender)
            if payment_url is None:
                return None
            if lease.end(to=S.PROCESSING, source=S.AUTHORIZED, outgoing_payment_url=payment_url):
                log.info("outgoing payment created")
                return Next("poll", 1.0)
    return None


def obtain_access_token(attempt: PaymentAttempt) -> bool:
    """Continues the grant once; False when the attempt had to end (the answer was lost or refused)."""
    ready = attempt.link_ready_at or attempt.created_at
    left = (ready + timedelta(seconds=attempt.continue_wait or 0) - timezone.now()).total_seconds()
    if left > 0:
        raise RetryLater(left)
    client = open_payments_client()
    record(attempt.pk, status=S.AUTHORIZED, continue_requested_at=timezone.now())
    pending = PendingGrant(continuation=_continuation(attempt))
    failpoint("grant.before_continue")
    try:
        grant = client.grants.continue_(pending, interact_ref=attempt.interact_ref)
    except TooFast as exc:
        raise RetryLater(max(exc.wait, 1)) from None
    except (Unauthorized, NotFound) as exc:
        # A grant continues once: a refusal here may mean an earlier answer was lost with a live token in
        # it. Revoking the grant kills that token; the funder authorizes again on a new link.
        log.warning("continuation refused: %s", exc)
        revoke_grant(attempt)
        transition(attempt.pk, to=S.FAILED, source=S.AUTHORIZED, error=AUTHORIZE_AGAIN)
        return False
    if not isinstance(grant, Grant):
        raise RetryLater(max(grant.continuation.wait or 0, 1))
    failpoint("grant.continued")
    fields = token_fields("outgoing", grant.access_token)
    record(attempt.pk, status=S.AUTHORIZED, **fields)
    for name, value in fields.items():
        setattr(attempt, name, value)
    return True


def _continuation(attempt: PaymentAttempt) -> Continuation:
    return Continuation(
        uri=attempt.continue_uri, access_token=attempt.continue_token, wait=attempt.continue_wait
    )


def revoke_grant(attempt: PaymentAttempt) -> None:
    """Cancels the attempt's grant at the funder's wallet; an already-gone grant is fine."""
    if not attempt.continue_uri:
        return
    with suppress(Unauthorized, NotFound):
        open_payments_client().grants.cancel(_continuation(attempt))


# The receiver is paid but our payment to it was not found: polling confirms it from the receiver's side.
RECEIVER_PAID = ""


def ensure_outgoing_payment(attempt: PaymentAttempt, sender: WalletAddress) -> str | None:
    """The URL of the attempt's outgoing payment, created at most once; None when the attempt had to end."""
    if attempt.outgoing_payment_requested_at:
        found = find_outgoing_payment(attempt, sender)
        if found is not None:
            return found.id
    record(attempt.pk, status=S.AUTHORIZED, outgoing_payment_requested_at=timezone.now())
    try:
        return create_outgoing_payment(attempt, sender).id
    except InvalidQuote:
        # Used (our own earlier create whose answer was lost), expired, or the receiver is done.
        found = find_outgoing_payment(attempt, sender)
        if found is not None:
            return found.id
    return requote_and_pay(attempt, sender)


def create_outgoing_payment(attempt: PaymentAttempt, sender: WalletAddress) -> OutgoingPayment:
    """Pays the attempt's quote, with our idempotency id in the payment's metadata."""
    client = open_payments_client()
    failpoint("outgoing_payment.before_create")
    payment = using_token(
        attempt,
        "outgoing",
        lambda token: client.outgoing_payments.create(
            sender,
            token=token,
            quote_id=attempt.quote_url,
            metadata={
                "description": f"Job #{attempt.job_id}: {attempt.job.title}",
                "externalRef": f"job-{attempt.job_id}",
                "idempotencyId": str(attempt.idempotency_id),
            },
        ),
    )
    failpoint("outgoing_payment.created")
    return payment


def requote_and_pay(attempt: PaymentAttempt, sender: WalletAddress) -> str | None:
    """The quote expired while the funder was in their wallet: pay a new one if the grant still covers it."""
    try:
        quote = new_quote(attempt, sender)
    except InvalidReceiver:
        # The receiver takes no more money, so it was paid: never pay again.
        log.warning("receiver already paid before our payment was found")
        return RECEIVER_PAID
    if quote.debit_amount.value > int(attempt.debit_amount or 0):
        transition(attempt.pk, to=S.FAILED, source=S.AUTHORIZED, error=PRICE_CHANGED)
        revoke_grant(attempt)
        return None
    fields = quote_fields(quote)
    record(attempt.pk, status=S.AUTHORIZED, **fields)
    for name, value in fields.items():
        setattr(attempt, name, value)
    return create_outgoing_payment(attempt, sender).id


def find_outgoing_payment(attempt: PaymentAttempt, sender: WalletAddress) -> OutgoingPayment | None:
    """The outgoing payment carrying this attempt's idempotency id, if the wallet has one."""
    lister = partial(open_payments_client().outgoing_payments.list, sender)
    use = partial(using_token, attempt, "outgoing")
    return find_by_metadata(use, lister, "idempotencyId", str(attempt.idempotency_id))


# --- payments.poll ------------------------------------------------------------------------------

UNCONFIRMED = "We could not confirm this payment in time. Check your wallet before paying again."


@log_context()
def poll(attempt_id: str) -> Next | None:
    """Checks the payment once: paid, failed, or the next check scheduled with backoff."""
    with leased(attempt_id, status=S.PROCESSING) as lease:
        if lease is None:
            return busy(attempt_id, S.PROCESSING)
        attempt = load(attempt_id)
        failpoint("poll.before")
        client = open_payments_client()
        sent: int | None = None
        if attempt.outgoing_payment_url:
            outgoing = using_token(
                attempt,
                "outgoing",
                lambda token: client.outgoing_payments.get(attempt.outgoing_payment_url, token=token),
            )
            if outgoing.failed:
                sent = outgoing.sent_amount
                lease.end(
                    to=S.FAILED,
                    source=S.PROCESSING,
                    sent_amount=sent.value,
                    error=f"Your wallet stopped the payment after sending {sent.format()}.",
                )
                return None
            sent = outgoing.sent_amount.value
            lease.keep(sent_amount=sent)
        incoming = with_incoming_token(
            attempt,
            client.wallet_addresses.get(attempt.receiver_wallet),
            lambda token: client.incoming_payments.get(attempt.incoming_payment_url, token=token),
        )
        if incoming.is_paid:
            if sent == 0:
                # The wallet settled between our two reads (the receipt would say nothing was sent): again.
                return Next("poll", 0.5)
            if lease.end(
                to=S.SUCCEEDED,
                source=S.PROCESSING,
                received_amount=incoming.received_amount.value,
            ):
                log.info("job paid")
            return None
        deadline = (attempt.authorized_at or attempt.updated_at) + timedelta(
            seconds=pacing("CONFIRM_SECONDS")
        )
        if timezone.now() >= deadline:
            lease.end(to=S.FAILED, source=S.PROCESSING, error=UNCONFIRMED)
            return None
        lease.keep(polls=attempt.polls + 1, received_amount=incoming.received_amount.value)
        return Next("poll", min(float(pacing("POLL_MAX_INTERVAL")), 0.5 * 2 ** min(attempt.polls, 10)))


# --- payments.cancel_grant ----------------------------------------------------------------------


@log_context()
def cancel_grant(attempt_id: str) -> Next | None:
    """Revokes the grant of an attempt that ended before paying (cancelled, declined, expired)."""
    attempt = load(attempt_id)
    if attempt.status in (S.CANCELLED, S.DECLINED, S.EXPIRED):
        revoke_grant(attempt)
    return None


GAVE_UP = "The wallets did not answer. Please try again in a few minutes."


def give_up(attempt_id: str, exc: BaseException) -> None:
    """After the last retry: an attempt still generating its link fails; later ones are left to the
    reconciler and polling deadline, because money may already be moving."""
    log.error("step gave up: %s", type(exc).__name__)
    transition(attempt_id, to=S.FAILED, source=S.GENERATING, error=GAVE_UP)
