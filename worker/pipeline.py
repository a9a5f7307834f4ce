"""The payment pipeline: the steps the Celery tasks run for one payment attempt, a payment (the funder
pays the provider) or a refund (the provider pays back): the same steps, with the roles swapped.

Every step starts from what the attempt has stored, so a redelivered, repeated or parallel task continues
where the last one stopped. A step claims the attempt's lease (`jobs.leases`) and writes only through it:
what it learns is kept and written when it lets go, with the status change or before a retry; an intent
(before a call that would create something twice if repeated: incoming payment, outgoing payment, grant
continuation) is recorded at once, and a retry that finds the intent without the result looks the
resource up before creating it again. A crash loses nothing else that matters: a quote or a grant nobody
has seen is simply made again.

Steps return a `Next` for the task to schedule, raise `RetryLater` to be run again after a wait (never
counted as a failure), and let retryable `payments` errors (timeouts, 5xx, 429) propagate for the task's
failure budget and backoff. Terminal errors end the attempt with a message a funder can act on.
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
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from jobs.leases import Lease, LeaseLost, held_for, leased
from jobs.models import FINAL_STATUSES, QUOTE_OUTDATED, Budget, PaymentAttempt
from jobs.models import AttemptStatus as S
from jobs.money import format_amount
from jobs.services import attempt_grant_revoked, budget_end
from jobs.wallets import connection_problem
from marketplace.logs import add_log_context, log_context
from marketplace.open_payments import open_payments_client
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
from payments.models import Continuation, IncomingPayment, PaginatedList
from payments.models import Quote as OpenPaymentsQuote
from worker import checks
from worker.checks import Refused
from worker.failpoints import failpoint
from worker.tokens import BudgetGone, shared_key, token_fields, using_budget, using_shared, using_token

log = logging.getLogger("worker.pipeline")
T = TypeVar("T")

LIST_PAGE = 100
LIST_PAGES = 20


@dataclass(frozen=True)
class Next:
    """The task to schedule for the attempt after this step, and after how many seconds."""

    task: Literal["continue_grant", "poll"]
    countdown: float


class Ended(Exception):
    """The step ended the attempt (its lease did the status change); nothing more to do."""


class RetryLater(Exception):
    """Run this step again after `countdown` seconds (a wait, not a failure)."""

    def __init__(self, countdown: float) -> None:
        super().__init__(f"retry in {countdown:.1f}s")
        self.countdown = countdown


def pacing(name: str) -> float:
    """One of the pipeline's timing settings."""
    return float(settings.PAYMENT_PIPELINE[name])


def wait(seconds: float) -> RetryLater:
    """A wait of `seconds`, never shorter than the pipeline's floor (no step spins on a wallet)."""
    return RetryLater(max(seconds, pacing("MIN_WAIT_MS") / 1000))


def is_transient(exc: BaseException) -> bool:
    """Whether repeating the same call later may succeed (timeouts, refused or dropped connections, 5xx,
    429); an untrusted certificate or a host that does not exist is not."""
    return isinstance(exc, (TransportError, HTTPError)) and exc.retryable


NOT_YOUR_DOING = (
    " Trying again will not help until it is fixed; the marketplace's operators can see this error."
)


# The most of a wallet's own words a funder is shown (they are the wallet's, not ours: quoted, one line).
WALLET_WORDS_LIMIT = 200


def plain_reason(exc: OpenPaymentsError) -> str:
    """What a funder reads when a wallet refused a step, or could not be reached for good; with the
    wallet's own description of the refusal, quoted, when it gave one."""
    problem = connection_problem(exc) if isinstance(exc, TransportError) else None
    if problem:
        return problem + NOT_YOUR_DOING
    if isinstance(exc, UnsafeURLError):
        return "One of the wallet addresses cannot be used. Check both wallet addresses and try again."
    if isinstance(exc, HTTPError) and exc.status in (401, 403):
        reason = "The wallet refused our request."
        advice = " Please try again; if it keeps failing, contact support."
    elif isinstance(exc, NotFound):
        reason = "A wallet did not recognise this payment."
        advice = " Check both wallet addresses and try again."
    else:
        reason, advice = "The wallet could not prepare this payment.", " Please try again."
    return reason + wallet_said(exc) + advice


def wallet_said(exc: OpenPaymentsError) -> str:
    """' The wallet said: "…".' with the wallet's description of an error answer, on one line and cut
    short; empty when it gave none."""
    description = exc.description if isinstance(exc, HTTPError) else None
    words = " ".join((description or "").split())
    if not words:
        return ""
    if len(words) > WALLET_WORDS_LIMIT:
        words = words[: WALLET_WORDS_LIMIT - 1].rstrip() + "…"
    return f" The wallet said: “{words}”."


DETAIL_LIMIT = 2000


def error_code(exc: BaseException) -> str:
    """A short, stable name for what failed underneath, for ops (the admin filters on it)."""
    if isinstance(exc, TransportError):
        return exc.reason
    if isinstance(exc, HTTPError):
        return f"http_{exc.status}"
    if isinstance(exc, UnsafeURLError):
        return "unsafe_url"
    if isinstance(exc, Refused):
        return exc.code
    if isinstance(exc, ImproperlyConfigured):
        return "configuration"
    return type(exc).__name__.lower()[:32]


def failure(exc: BaseException, message: str) -> dict[str, str]:
    """The attempt fields of a failure: the funder's message, and for ops what failed and how."""
    detail = exc.differs if isinstance(exc, Refused) else str(exc)
    return {"error": message, "error_code": error_code(exc), "error_detail": detail[:DETAIL_LIMIT]}


@contextmanager
def step(attempt_id: str, *, status: str, mark: str | None = None) -> Iterator[Lease | None]:
    """The lease on the attempt for one step in `status`, let go when the block ends; None when the
    attempt has left `status` (nothing to do).

    Another delivery holding it makes this one wait (`RetryLater`) until its lease runs out. A refusal
    (among them a wallet answer that is not what we asked for, `worker.checks`) or a terminal wallet
    error ends the attempt as failed; a step that ended it already (`Ended`) just stops; retryable errors
    and waits go through to the task.
    The step's log lines name the attempt's job. An attempt the step ended has its grant revoked once the
    lease is let go (`revoke_grant`).
    """
    with leased(attempt_id, status=status, mark=mark) as lease:
        if lease is None:
            busy(attempt_id, status)
            yield None
            return
        add_log_context(job_id=lease.attempt.job_id)
        try:
            yield lease
        except Refused as exc:
            log.warning("step refused: %s", exc.differs)
            lease.end(to=S.FAILED, **failure(exc, str(exc)))
        except Ended:
            pass
        except LeaseLost as exc:
            log.error("step stopped: %s", exc)
        except OpenPaymentsError as exc:
            if is_transient(exc):
                raise
            if isinstance(exc, TransportError):
                log.error("wallet unreachable, not retried: %s", exc)
            else:
                log.warning("step failed: %s", exc)
            lease.end(to=S.FAILED, **failure(exc, plain_reason(exc)))
    if lease.attempt.status in FINAL_STATUSES:
        revoke_grant(lease.attempt)


def busy(attempt_id: str, status: str) -> None:
    """Another delivery holds the attempt: wait for its lease to run out, unless the attempt left `status`."""
    add_log_context(
        job_id=PaymentAttempt.objects.filter(pk=attempt_id).values_list("job_id", flat=True).first()
    )
    left = held_for(attempt_id, status=status)
    if left is not None:
        raise wait(left)


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


def with_incoming_token(lease: Lease, receiver: WalletAddress, call: Callable[[AccessToken], T]) -> T:
    """`call(token)` with the provider wallet's shared incoming-payment token (or, for an attempt made
    before tokens were shared, its own)."""
    if lease.attempt.incoming_token:
        return using_token(lease, "incoming", call)
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


def find_by_metadata(
    use: Callable[[Callable[[AccessToken], PaginatedList[T]]], PaginatedList[T]],
    lister: Callable[..., PaginatedList[T]],
    key: str,
    value: str,
) -> T | None:
    """The first listed resource whose `metadata[key]` is `value`, paging with the token `use` gives."""
    cursor: str | None = None
    for _ in range(LIST_PAGES):
        page = use(partial(list_page, lister, cursor))
        for item in page.items:
            if (getattr(item, "metadata", None) or {}).get(key) == value:
                return item
        if not page.has_next_page:
            return None
        cursor = page.end_cursor
    return None


def list_page(
    lister: Callable[..., PaginatedList[T]], cursor: str | None, token: AccessToken
) -> PaginatedList[T]:
    """One page of a collection, from `cursor`."""
    return lister(token=token, first=LIST_PAGE, cursor=cursor)


# --- payments.generate_link ---------------------------------------------------------------------


@log_context()  # the job named by the step stays in its own lines only
def generate_link(attempt_id: str) -> Next | None:
    """Incoming payment, Open Payments quote and interactive grant; then the attempt awaits the funder's
    consent.

    Two writes: the claim, which also records the intent to create the incoming payment, and the status
    change, which stores everything learned with the link."""
    with step(attempt_id, status=S.GENERATING, mark="incoming_payment_requested_at") as lease:
        if lease is None:
            return None
        sender, receiver = wallets(lease.attempt)
        ensure_incoming_payment(lease, receiver)
        ensure_op_quote(lease, sender)
        if budget_pays(lease, sender):
            return Next("poll", 1.0)
        link = grant_link(lease.attempt, sender)
        if lease.end(to=S.AWAITING_AUTHORIZATION, **link):
            log.info("payment link ready")
    return None


# --- paying from a budget -------------------------------------------------------------------------

BUDGET_UNCONFIRMED = (
    "We could not confirm whether your budget paid this job. Check your wallet before paying again."
)


def budget_pays(lease: Lease, sender: WalletAddress) -> bool:
    """Pays the attempt at once from the funder's budget, when it has one that covers the quote: True
    once the outgoing payment exists (the attempt is processing). False when it cannot, with the reason
    kept in `budget_fallback`: the attempt goes on to a link as any other. Only a definite refusal falls
    back; a payment the budget may have made is looked up, never made again."""
    attempt = lease.attempt
    if attempt.budget_id is None or attempt.budget_fallback:
        return False
    debit = attempt_debit(attempt)
    try:
        if attempt.outgoing_payment_requested_at is None:
            try:
                refusal = budget_refusal(lease, sender, debit)
            except OpenPaymentsError as exc:
                if is_transient(exc):
                    raise
                log.warning("budget figures refused: %s", exc)
                refusal = BUDGET_REFUSED
            if refusal:
                lease.keep(budget_fallback=refusal)
                return False
        else:
            found = find_outgoing_payment(lease, sender)
            if found is not None:
                return budget_paid(lease, sender, found)
        lease.record(outgoing_payment_requested_at=timezone.now())
        try:
            payment = create_outgoing_payment(lease, sender)
        except (Unauthorized, InvalidQuote, HTTPError) as exc:
            if is_transient(exc):
                raise
            log.warning("budget refused the payment: %s", exc)
            lease.keep(budget_fallback=BUDGET_REFUSED)
            return False
    except BudgetGone as gone:
        if attempt.outgoing_payment_requested_at is not None:
            # Money may have left under the budget before it ended: say so, never pay again by link.
            lease.end(to=S.FAILED, error=BUDGET_UNCONFIRMED, error_code="budget_gone")
            raise Ended from None
        lease.keep(budget_fallback=str(gone))
        return False
    return budget_paid(lease, sender, payment)


BUDGET_REFUSED = "Your wallet did not let your budget pay this job now."


def budget_refusal(lease: Lease, sender: WalletAddress, debit: Amount) -> str:
    """Why the budget cannot pay `debit` (empty when it can): another wallet or asset, above what it pays
    per job, or more than is left in the current interval (the wallet's own figures)."""
    budget = Budget.objects.get(pk=str(lease.attempt.budget_id))
    shown = partial(format_amount, asset_code=budget.asset_code, asset_scale=budget.asset_scale)
    if budget.sender_wallet != sender.id or (budget.asset_code, budget.asset_scale) != (
        debit.asset_code,
        debit.asset_scale,
    ):
        return "Your budget is for another wallet or asset than this payment."
    if debit.value > budget.per_job_limit:
        ceiling = shown(budget.per_job_limit)
        return f"This payment ({shown(debit.value)}) is above the {ceiling} your budget pays at once."
    client = open_payments_client()
    spent = using_budget(budget.pk, lambda token: client.outgoing_payment_grant.get(sender, token=token))
    used = spent.spent_debit_amount.value if spent.spent_debit_amount else 0
    left = max(0, budget.amount_value - used)
    if debit.value > left:
        period = {"P1M": " this month", "P1W": " this week"}.get(budget.interval, "")
        return f"Your budget has {shown(left)} left{period}."
    return ""


def budget_paid(lease: Lease, sender: WalletAddress, payment: OutgoingPayment) -> bool:
    """The budget's outgoing payment, checked like any (nobody looked at it in a wallet); the attempt
    moves to processing with it."""
    try:
        keep_outgoing_payment(lease, sender, payment)
    except checks.Mismatch:
        # A wallet that answers a budget's payment with another cannot be trusted with the next one.
        budget_end(str(lease.attempt.budget_id), BUDGET_LIED)
        raise
    if lease.end(to=S.PROCESSING, authorized_at=timezone.now()):
        log.info("paid from the budget")
    return True


BUDGET_LIED = "Your wallet answered a payment from your budget with a different one, so the budget ended."


def approved_amount(attempt: PaymentAttempt) -> Amount:
    """How much the attempt moves, in the paid quote's asset: the provider's price the funder approved
    (exactly what the provider is to receive), or the refund agreed (exactly what leaves the provider's
    wallet)."""
    quote = attempt.quote
    return Amount(attempt.amount_value, quote.asset_code, quote.asset_scale)


def incoming_amount(attempt: PaymentAttempt) -> Amount | None:
    """What the receiver's incoming payment asks for: the price for a payment; nothing for a refund, which
    takes what the provider's fixed amount buys in the funder's asset."""
    return None if attempt.is_refund else approved_amount(attempt)


def receiver_whose(attempt: PaymentAttempt) -> str:
    """Whose wallet receives, as the payer's messages name it."""
    return "funder's" if attempt.is_refund else "provider's"


def ensure_incoming_payment(lease: Lease, receiver: WalletAddress) -> None:
    """The receiver's incoming payment for this attempt, for exactly the approved price (open for a
    refund): created once, found again after a crash, checked either way."""
    attempt = lease.attempt
    if attempt.incoming_payment_url:
        return
    price = incoming_amount(attempt)
    if lease.before(attempt.incoming_payment_requested_at):
        found = find_incoming_payment(lease, receiver)
        if found is not None:
            keep_incoming_payment(lease, receiver, found)
            return
    if price is not None and (receiver.asset_code, receiver.asset_scale) != (
        price.asset_code,
        price.asset_scale,
    ):
        raise Refused(
            f"The provider's wallet now holds {receiver.asset_code}, but their quote is in "
            f"{price.asset_code}; ask them to quote again. Nothing was paid.",
            code=QUOTE_OUTDATED,
        )
    client = open_payments_client()
    expires_at = timezone.now() + timedelta(hours=pacing("INCOMING_PAYMENT_HOURS"))
    failpoint("incoming_payment.before_create")
    payment = with_incoming_token(
        lease,
        receiver,
        lambda token: client.incoming_payments.create(
            receiver,
            token=token,
            incoming_amount=price,
            expires_at=expires_at,
            metadata={
                "description": description(attempt),
                "externalRef": f"job-{attempt.job_id}",
                "attemptId": str(attempt.pk),
            },
        ),
    )
    failpoint("incoming_payment.created")
    keep_incoming_payment(lease, receiver, payment)


def description(attempt: PaymentAttempt) -> str:
    """What the wallets show the payment as."""
    what = "Refund for job" if attempt.is_refund else "Job"
    return f"{what} #{attempt.job_id}: {attempt.job.title}"


def find_incoming_payment(lease: Lease, receiver: WalletAddress) -> IncomingPayment | None:
    """The incoming payment an earlier delivery created for this attempt, if the wallet has one."""
    lister = partial(open_payments_client().incoming_payments.list, receiver)
    use = partial(with_incoming_token, lease, receiver)
    return find_by_metadata(use, lister, "attemptId", str(lease.attempt.pk))


def keep_incoming_payment(lease: Lease, receiver: WalletAddress, payment: IncomingPayment) -> None:
    """Keeps the incoming payment once it is the one asked for: the receiver's, open, for the attempt's
    incoming amount."""
    attempt = lease.attempt
    price = incoming_amount(attempt)
    checks.incoming_payment(payment, receiver, price, open_at=timezone.now(), whose=receiver_whose(attempt))
    lease.keep(
        incoming_payment_url=payment.id,
        incoming_amount=None if price is None else price.value,
        receive_asset_code=receiver.asset_code,
        receive_asset_scale=receiver.asset_scale,
    )


def new_op_quote(attempt: PaymentAttempt, sender: WalletAddress) -> OpenPaymentsQuote:
    """A fresh Open Payments quote at the payer's wallet for the attempt's incoming payment, checked: for
    the price the incoming payment asks, or for a refund the fixed amount the provider sends."""
    client = open_payments_client()
    receiver = attempt.incoming_payment_url
    amount = approved_amount(attempt)
    debit = amount if attempt.is_refund else None
    quote = with_quote_token(
        sender, lambda token: client.quotes.create(sender, token=token, receiver=receiver, debit_amount=debit)
    )
    fixed: Literal["receive", "debit"] = "debit" if attempt.is_refund else "receive"
    checks.op_quote(quote, sender, receiver, amount, int(pacing("MAX_FEE_PERCENT")), fixed=fixed)
    return quote


def op_quote_fields(quote: OpenPaymentsQuote) -> dict[str, object]:
    """The attempt fields that store an Open Payments quote."""
    return {
        "op_quote_url": quote.id,
        "debit_amount": quote.debit_amount.value,
        "debit_asset_code": quote.debit_amount.asset_code,
        "debit_asset_scale": quote.debit_amount.asset_scale,
        "receive_amount": quote.receive_amount.value,
        "op_quote_expires_at": quote.expires_at,
    }


def ensure_op_quote(lease: Lease, sender: WalletAddress) -> None:
    """The funder's Open Payments quote for the incoming payment (a repeated quote moves no money)."""
    if lease.attempt.op_quote_url:
        return
    quote = new_op_quote(lease.attempt, sender)
    failpoint("quote.created")
    lease.keep(**op_quote_fields(quote))


def grant_link(attempt: PaymentAttempt, sender: WalletAddress) -> dict[str, object]:
    """The interactive outgoing-payment grant for exactly this payment (limited to our incoming payment
    and the quote's debit amount): the attempt fields holding it, its nonce and the payment URL, for the
    caller to store together. A grant whose answer is lost was never shown to anyone; the retry asks for
    another."""
    nonce = attempt.client_nonce or secrets.token_urlsafe(32)
    debit = attempt_debit(attempt)
    failpoint("grant.before_create")
    grant = open_payments_client().grants.request(
        sender,
        access=[
            AccessItem.outgoing_payment(
                sender.id,
                Limits(debit_amount=debit, receiver=attempt.incoming_payment_url),
                actions=("create", "read", "list"),
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
    with step(attempt_id, status=S.AUTHORIZED) as lease:
        if lease is None:
            return None
        ensure_access_token(lease)
        sender, _ = wallets(lease.attempt)
        ensure_outgoing_payment(lease, sender)
        if lease.end(to=S.PROCESSING):
            log.info("outgoing payment created")
            return Next("poll", 1.0)
    return None


def ensure_access_token(lease: Lease) -> None:
    """The outgoing-payment access token: the grant continued once, the token recorded before it is used.

    A refused continuation may mean an earlier answer was lost with a live token in it: the grant is
    revoked (killing that token) and the attempt ends; the funder authorizes again on a new link."""
    attempt = lease.attempt
    if attempt.access_token:
        return
    ready = attempt.link_ready_at or attempt.created_at
    left = (ready + timedelta(seconds=attempt.continue_wait or 0) - timezone.now()).total_seconds()
    if left > 0:
        raise wait(left)
    lease.record(continue_requested_at=timezone.now())
    failpoint("grant.before_continue")
    try:
        grant = open_payments_client().grants.continue_(
            PendingGrant(continuation=continuation(attempt)), interact_ref=attempt.interact_ref
        )
    except TooFast as exc:
        raise wait(exc.wait) from None
    except (Unauthorized, NotFound) as exc:
        log.warning("continuation refused: %s", exc)
        lease.end(to=S.FAILED, **failure(exc, AUTHORIZE_AGAIN))
        raise Ended from None
    if not isinstance(grant, Grant):
        raise wait(grant.continuation.wait or 0)
    failpoint("grant.continued")
    lease.record(**token_fields("outgoing", grant.access_token))


def continuation(attempt: PaymentAttempt) -> Continuation:
    """The attempt's grant continuation (its URI, token and wait)."""
    return Continuation(
        uri=attempt.continue_uri, access_token=attempt.continue_token, wait=attempt.continue_wait
    )


def revoke_grant(attempt: PaymentAttempt) -> None:
    """Revokes a finished attempt's grant at the funder's wallet, once: nothing more can be sent under
    it, and a token a lost continuation answer brought dies with it. A grant already gone counts as
    revoked; any other failure is logged and left to the reconciler (the attempt's end stands)."""
    if not attempt.continue_uri or attempt.grant_revoked_at is not None:
        return
    if not cancel_at_wallet(continuation(attempt)):
        return
    if attempt_grant_revoked(attempt.pk):
        log.info("grant revoked")
    attempt.grant_revoked_at = timezone.now()


def cancel_at_wallet(grant: Continuation) -> bool:
    """Revokes the grant at its wallet (one already gone counts as revoked); False, logged, when the wallet
    could not be asked now: the reconciler tries again."""
    try:
        with suppress(Unauthorized, NotFound):
            open_payments_client().grants.cancel(grant)
    except OpenPaymentsError as exc:
        log.warning("grant not revoked yet, left to the reconciler: %s", exc)
        return False
    return True


def ensure_outgoing_payment(lease: Lease, sender: WalletAddress) -> None:
    """The attempt's outgoing payment, created at most once, checked and kept on the lease; or the
    receiver found paid without it (`receiver_already_paid`: polling confirms from the receiver's side)."""
    attempt = lease.attempt
    if attempt.outgoing_payment_requested_at:
        found = find_outgoing_payment(lease, sender)
        if found is not None:
            keep_outgoing_payment(lease, sender, found)
            return
    lease.record(outgoing_payment_requested_at=timezone.now())
    try:
        keep_outgoing_payment(lease, sender, create_outgoing_payment(lease, sender))
        return
    except InvalidQuote:
        # Used (our own earlier create whose answer was lost), expired, or the receiver is done.
        found = find_outgoing_payment(lease, sender)
        if found is not None:
            keep_outgoing_payment(lease, sender, found)
            return
    requote_and_pay(lease, sender)


def attempt_debit(attempt: PaymentAttempt) -> Amount:
    """What the attempt's quote debits from the funder (fees included)."""
    return Amount(
        int(attempt.debit_amount or 0), attempt.debit_asset_code, int(attempt.debit_asset_scale or 0)
    )


def keep_outgoing_payment(lease: Lease, sender: WalletAddress, payment: OutgoingPayment) -> None:
    """Keeps the outgoing payment once it is the one approved; otherwise the attempt ends (`Mismatch`)
    and its grant is revoked: nothing more can be sent under it."""
    attempt = lease.attempt
    debit = attempt_debit(attempt)
    checks.outgoing_payment(payment, sender.id, attempt.op_quote_url, attempt.incoming_payment_url, debit)
    lease.keep(outgoing_payment_url=payment.id)


def create_outgoing_payment(lease: Lease, sender: WalletAddress) -> OutgoingPayment:
    """Pays the attempt's Open Payments quote, with our idempotency id in the payment's metadata."""
    attempt = lease.attempt
    client = open_payments_client()
    failpoint("outgoing_payment.before_create")
    payment = using_token(
        lease,
        "outgoing",
        lambda token: client.outgoing_payments.create(
            sender,
            token=token,
            quote_id=attempt.op_quote_url,
            metadata={
                "description": description(attempt),
                "externalRef": f"job-{attempt.job_id}",
                "idempotencyId": str(attempt.idempotency_id),
            },
        ),
    )
    failpoint("outgoing_payment.created")
    return payment


def requote_and_pay(lease: Lease, sender: WalletAddress) -> None:
    """The quote expired while the funder was in their wallet: pay a new one if the grant still covers it."""
    attempt = lease.attempt
    try:
        quote = new_op_quote(attempt, sender)
    except InvalidReceiver:
        # The receiver takes no more money, so it was paid: never pay again.
        log.warning("receiver already paid before our payment was found")
        lease.keep(receiver_already_paid=True)
        return
    if quote.debit_amount.value > int(attempt.debit_amount or 0):
        lease.end(to=S.FAILED, error=PRICE_CHANGED, error_code="price_changed")
        raise Ended
    lease.record(**op_quote_fields(quote))
    keep_outgoing_payment(lease, sender, create_outgoing_payment(lease, sender))


def find_outgoing_payment(lease: Lease, sender: WalletAddress) -> OutgoingPayment | None:
    """The outgoing payment carrying this attempt's idempotency id, if the wallet has one."""
    lister = partial(open_payments_client().outgoing_payments.list, sender)
    use = partial(using_token, lease, "outgoing")
    return find_by_metadata(use, lister, "idempotencyId", str(lease.attempt.idempotency_id))


# --- payments.poll ------------------------------------------------------------------------------

UNCONFIRMED = "We could not confirm this payment in time. Check your wallet before paying again."


@log_context()
def poll(attempt_id: str) -> Next | None:
    """Checks the payment once: paid, failed, or the next check scheduled with backoff.

    Money may be moving, so an answer we cannot use (a refusal, a payment the wallet no longer shows) is
    not a failure yet: the payment is checked again until `PAYMENT_CONFIRM_SECONDS` after consent, and
    then ends as unconfirmed, telling the funder to check their wallet before paying again."""
    with step(attempt_id, status=S.PROCESSING) as lease:
        if lease is None:
            return None
        failpoint("poll.before")
        try:
            return settle(lease)
        except OpenPaymentsError as exc:
            if is_transient(exc):
                raise
            log.warning("payment could not be read: %s", exc)
            return check_again(lease)
    return None


def settle(lease: Lease) -> Next | None:
    """Reads the outgoing, then the incoming payment, and ends the attempt or schedules the next check."""
    attempt = lease.attempt
    client = open_payments_client()
    sent: int | None = None
    if attempt.outgoing_payment_url:
        outgoing = using_token(
            lease,
            "outgoing",
            lambda token: client.outgoing_payments.get(attempt.outgoing_payment_url, token=token),
        )
        checks.outgoing_payment(
            outgoing,
            attempt.sender_wallet,
            attempt.op_quote_url,
            attempt.incoming_payment_url,
            attempt_debit(attempt),
            url=attempt.outgoing_payment_url,
        )
        if outgoing.failed:
            stopped = outgoing.sent_amount
            lease.end(to=S.FAILED, sent_amount=stopped.value, **wallet_stopped(attempt, stopped))
            return None
        sent = outgoing.sent_amount.value
        lease.keep(sent_amount=sent)
    receiver = client.wallet_addresses.get(attempt.receiver_wallet)
    incoming = with_incoming_token(
        lease, receiver, lambda token: client.incoming_payments.get(attempt.incoming_payment_url, token=token)
    )
    checks.incoming_payment(
        incoming,
        receiver,
        incoming_amount(attempt),
        url=attempt.incoming_payment_url,
        whose=receiver_whose(attempt),
    )
    if received_in_full(attempt, incoming):
        if sent == 0:
            # The wallet settled between our two reads (the receipt would say nothing was sent): again.
            return Next("poll", 0.5)
        if attempt.is_refund and not incoming.completed:
            close_incoming_payment(lease, receiver)
        if lease.end(to=S.SUCCEEDED, received_amount=incoming.received_amount.value):
            log.info("job paid")
        return None
    lease.keep(received_amount=incoming.received_amount.value)
    return check_again(lease)


# Open Payments gives no reason for a failed outgoing payment; these are what wallets stop one for.
WALLET_REFUSED = (
    "Your wallet refused to send {debit} and nothing left your wallet. Wallets do this when the balance "
    "is too low or a spending limit is reached: check your wallet, then get a new link."
)
WALLET_STOPPED = (
    "Your wallet stopped the payment after sending {sent} of {debit}. Check your wallet's balance and "
    "limits before paying again: what was sent stays with the provider."
)


def wallet_stopped(attempt: PaymentAttempt, sent: Amount) -> dict[str, str]:
    """The error of a payment its wallet failed, with what can help: `wallet_refused` when nothing was
    sent (a new link can pay), `wallet_stopped` when part of it was (paying again would pay twice)."""
    debit = format_amount(
        int(attempt.debit_amount or 0), attempt.debit_asset_code, int(attempt.debit_asset_scale or 0)
    )
    if sent.value == 0:
        return {"error": WALLET_REFUSED.format(debit=debit), "error_code": "wallet_refused"}
    shown = format_amount(sent.value, sent.asset_code, sent.asset_scale)
    return {"error": WALLET_STOPPED.format(sent=shown, debit=debit), "error_code": "wallet_stopped"}


def close_incoming_payment(lease: Lease, receiver: WalletAddress) -> None:
    """Completes a refund's incoming payment at the funder's wallet once it received the refund, so it
    takes nothing more (it asks no amount, so it would stay open until it expires); a failure is only
    logged: the money has arrived either way."""
    client = open_payments_client()
    url = lease.attempt.incoming_payment_url
    try:
        with_incoming_token(
            lease, receiver, lambda token: client.incoming_payments.complete(url, token=token)
        )
    except OpenPaymentsError as exc:
        log.warning("refund's incoming payment left open: %s", exc)


def received_in_full(attempt: PaymentAttempt, incoming: IncomingPayment) -> bool:
    """Whether the receiver has what the attempt sends: its incoming amount (a payment), or what the quote
    said the provider's fixed amount delivers (a refund)."""
    if not attempt.is_refund:
        return incoming.is_paid
    return incoming.completed or incoming.received_amount.value >= int(attempt.receive_amount or 0) > 0


def check_again(lease: Lease) -> Next | None:
    """The next check, with backoff; past the confirmation deadline, the attempt ends as unconfirmed."""
    attempt = lease.attempt
    deadline = (attempt.authorized_at or attempt.updated_at) + timedelta(seconds=pacing("CONFIRM_SECONDS"))
    if timezone.now() >= deadline:
        lease.end(to=S.FAILED, error=UNCONFIRMED)
        return None
    countdown = min(pacing("POLL_MAX_INTERVAL"), 0.5 * 2 ** min(attempt.polls, 10))
    lease.keep(polls=attempt.polls + 1)
    return Next("poll", countdown)


# --- payments.cancel_grant ----------------------------------------------------------------------


@log_context()
def cancel_grant(attempt_id: str) -> Next | None:
    """Revokes the grant of an attempt that ended (paid, failed, cancelled, declined, expired) if that is
    still owed; a live attempt keeps its grant."""
    attempt = PaymentAttempt.objects.get(pk=attempt_id)
    add_log_context(job_id=attempt.job_id)
    if attempt.status in FINAL_STATUSES:
        revoke_grant(attempt)
    return None


GAVE_UP = "The wallets did not answer. Please try again in a few minutes."
NOT_SET_UP = (
    "This marketplace cannot reach wallets because of a problem in its own set-up, not yours; its "
    "operators can see this error. Nothing was paid."
)


def give_up(attempt_id: str, exc: BaseException) -> None:
    """After the failure budget is spent (or on a set-up error, at once): an attempt still generating its
    link fails; later ones are left to the reconciler and the polling deadline, because money may already
    be moving."""
    log.error("step gave up: %s", exc)
    message = NOT_SET_UP if isinstance(exc, ImproperlyConfigured) else GAVE_UP
    with leased(attempt_id, status=S.GENERATING) as lease:
        if lease is not None:
            lease.end(to=S.FAILED, **failure(exc, message))
