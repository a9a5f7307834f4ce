"""What pages and the API show of jobs and payment attempts: badges, the payment panel, the status document.

Nothing here reads secrets: tokens, nonces and `interact_ref` never reach a presenter's output. What else a
viewer sees follows `selectors.PaymentViewer`: attempt ids, the funder's debit, errors and the wallets'
records (quote, incoming and outgoing payment URLs) go to the funder and staff, the payment link to the
funder alone; a provider sees whether their quote is being paid and what they receive. The attempt is
kept in an `_attempt` field, which templates cannot read, so a template shows only what a property here
lets through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

import segno
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from jobs.models import QUOTE_OUTDATED, Job, PaymentAttempt, Refund
from jobs.models import AttemptStatus as S
from jobs.money import Money, format_amount
from jobs.selectors import PaymentViewer
from jobs.states import FINAL

# How often the panel asks again, by attempt status; final statuses are not polled.
POLL_SECONDS: dict[str, int] = {
    S.GENERATING: 2,
    S.AWAITING_AUTHORIZATION: 5,
    S.AUTHORIZED: 2,
    S.PROCESSING: 2,
}

# What a final attempt says when the pipeline left no error of its own.
DEFAULT_ERRORS: dict[str, str] = {
    S.FAILED: "The payment failed.",
    S.DECLINED: "You declined the payment in your wallet.",
    S.EXPIRED: "The payment link expired before it was approved.",
    S.CANCELLED: "The payment link was cancelled.",
}


# The panel's headline for an attempt that ended without paying.
HEADLINES: dict[str, str] = {
    S.FAILED: "Payment failed",
    S.DECLINED: "Payment declined",
    S.EXPIRED: "Payment link expired",
    S.CANCELLED: "Payment link cancelled",
}

# The same two for a refund's attempt, whose payer is the provider.
REFUND_DEFAULT_ERRORS: dict[str, str] = {
    S.FAILED: "The refund failed.",
    S.DECLINED: "The refund was declined in the provider's wallet.",
    S.EXPIRED: "The refund link expired before it was approved.",
    S.CANCELLED: "The refund link was cancelled.",
}
REFUND_HEADLINES: dict[str, str] = {
    S.FAILED: "Refund failed",
    S.DECLINED: "Refund declined in the wallet",
    S.EXPIRED: "Refund link expired",
    S.CANCELLED: "Refund link cancelled",
}


@dataclass(frozen=True)
class Badge:
    """A status pill: `key` picks its colour (CSS class `badge-<key>`), `label` is what it says."""

    key: str
    label: str


BADGES: dict[str, Badge] = {
    S.GENERATING: Badge("generating", "Generating link"),
    S.AWAITING_AUTHORIZATION: Badge("awaiting", "Awaiting payment"),
    S.AUTHORIZED: Badge("processing", "Processing payment"),
    S.PROCESSING: Badge("processing", "Processing payment"),
}
OPEN = Badge("open", "Open")
PAID = Badge("paid", "Paid")


def job_badge(job_status: str, latest_attempt_status: str | None) -> Badge:
    """The job's badge: paid, the step of a payment in progress, or open."""
    if job_status == Job.Status.PAID:
        return PAID
    return BADGES.get(latest_attempt_status or "", OPEN)


def attempt_badge(status: str) -> Badge:
    """The badge of one attempt in the history."""
    if status == S.SUCCEEDED:
        return PAID
    return BADGES.get(status) or Badge(status, S(status).label)


REFUND_BADGES: dict[str, Badge] = {
    S.GENERATING: Badge("generating", "Preparing refund link"),
    S.AWAITING_AUTHORIZATION: Badge("awaiting", "Awaiting the provider's wallet"),
    S.AUTHORIZED: Badge("processing", "Processing refund"),
    S.PROCESSING: Badge("processing", "Processing refund"),
    S.SUCCEEDED: Badge("paid", "Refunded"),
}


def refund_attempt_badge(status: str) -> Badge:
    """The badge of one refund attempt in the history."""
    return REFUND_BADGES.get(status) or attempt_badge(status)


def refund_badge(job: Job, asset_code: str, asset_scale: int) -> Badge | None:
    """ "Refunded" or "Partly refunded: 15.00 USD of 45.00 USD" for a paid job money went back on; None
    while nothing was refunded (`asset_*`: the paid quote's asset, which refunds are counted in)."""
    if job.status != Job.Status.PAID or job.paid_amount is None or job.refunded_amount <= 0:
        return None
    if job.refunded_amount >= job.paid_amount:
        return Badge("refunded", "Refunded")
    refunded = format_amount(job.refunded_amount, asset_code, asset_scale)
    paid = format_amount(job.paid_amount, asset_code, asset_scale)
    return Badge("refunded", f"Partly refunded: {refunded} of {paid}")


def attempt_debit(attempt: PaymentAttempt) -> Money:
    """What leaves the payer's wallet once the wallet quoted it; until then, the provider's price (for a
    refund, the amount agreed)."""
    if attempt.debit_amount is not None and attempt.debit_asset_scale is not None:
        return Money(attempt.debit_amount, attempt.debit_asset_code, attempt.debit_asset_scale)
    if attempt.refund is not None:
        refund = attempt.refund
        return Money(refund.amount_value, refund.asset_code, refund.asset_scale)
    quote = attempt.quote
    return Money(quote.amount_value, quote.asset_code, quote.asset_scale)


def attempt_receive(attempt: PaymentAttempt) -> Money | None:
    """What reaches the provider's wallet, once the wallet quoted it."""
    if attempt.receive_amount is None or attempt.receive_asset_scale is None:
        return None
    return Money(attempt.receive_amount, attempt.receive_asset_code, attempt.receive_asset_scale)


def attempt_received(attempt: PaymentAttempt) -> Money | None:
    """What reached the receiver's wallet by the wallet's own count, else what its quote promised."""
    if attempt.received_amount is not None and attempt.receive_asset_scale is not None:
        return Money(attempt.received_amount, attempt.receive_asset_code, attempt.receive_asset_scale)
    return attempt_receive(attempt)


def attempt_error(attempt: PaymentAttempt) -> str | None:
    """Why a final attempt did not pay, in plain words; None while it may still pay or once it paid."""
    if attempt.status not in DEFAULT_ERRORS:
        return None
    defaults = REFUND_DEFAULT_ERRORS if attempt.is_refund else DEFAULT_ERRORS
    return attempt.error or defaults[attempt.status]


def is_web_link(url: str) -> bool:
    """Whether a stored link may be put in an href or a redirect: http(s) only, never `javascript:` & co."""
    return urlsplit(url).scheme in ("https", "http")


def qr_svg(url: str, title: str = "QR code of the payment link") -> SafeString:
    """The URL as an inline SVG QR code named `title` (segno escapes nothing of ours: the URL is only
    encoded)."""
    svg = segno.make(url, error="m").svg_inline(scale=4, border=2, title=title)
    # An image to assistive technology, named like its <title> (which alone not every reader announces).
    named = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
    return mark_safe(named)  # noqa: S308 - segno writes this markup; the URL is drawn, never inserted as text


@dataclass(frozen=True)
class AttemptView:
    """One attempt as a panel shows it to one viewer. Its payer (the funder of a payment, the paid provider
    of a refund) sees the link, what leaves their wallet and what went wrong, and may cancel or get a new
    link; the funder and staff see every detail; the provider it pays sees what they receive."""

    _attempt: PaymentAttempt
    viewer: PaymentViewer
    viewer_is_payer: bool

    @property
    def sees_all(self) -> bool:
        return self.viewer.sees_details or self.viewer_is_payer

    @property
    def pays_viewer(self) -> bool:
        """The attempt pays one of the viewer's own quotes (or, for a refund, pays back from one)."""
        return self.viewer.is_paid_by(self._attempt)

    @property
    def is_refund(self) -> bool:
        return self._attempt.is_refund

    @property
    def state(self) -> str:
        return self._attempt.status

    @property
    def cancellable(self) -> bool:
        """Whether the payer may still cancel: the link is unused, or the payment waits on the wallet and
        has not been asked for."""
        attempt = self._attempt
        if not self.viewer_is_payer:
            return False
        waiting = attempt.status == S.AUTHORIZED and not attempt.outgoing_payment_requested_at
        return attempt.status == S.AWAITING_AUTHORIZATION or waiting

    @property
    def poll_seconds(self) -> int | None:
        return POLL_SECONDS.get(self.state)

    @property
    def attempt_id(self) -> str:
        """The attempt's id, for its payer, the funder and staff: whoever knows it can answer its finish
        link."""
        return str(self._attempt.pk) if self.sees_all else ""

    @property
    def debit(self) -> Money | None:
        """What leaves the payer's wallet."""
        return attempt_debit(self._attempt) if self.sees_all else None

    @property
    def receive(self) -> Money | None:
        """What reaches the receiver's wallet, once the wallet quoted it."""
        return attempt_receive(self._attempt) if self.sees_all or self.pays_viewer else None

    @property
    def expires_at(self) -> datetime | None:
        return self._attempt.authorization_expires_at if self.sees_all else None

    @property
    def error(self) -> str | None:
        """Why the attempt did not pay, in its payer's words ("your wallet…"); the funder and staff reading
        a refund the provider pays get the plain outcome instead."""
        if not self.sees_all:
            return None
        if self.is_refund and not self.viewer_is_payer and self.state in REFUND_DEFAULT_ERRORS:
            return REFUND_DEFAULT_ERRORS[self.state]
        return attempt_error(self._attempt)

    @property
    def took_no_money(self) -> bool:
        """An ended attempt that never created an outgoing payment."""
        return self.sees_all and not self._attempt.outgoing_payment_url

    @property
    def payment_url(self) -> str:
        """The wallet's consent link, for the payer alone and only while it can be used."""
        if self.viewer_is_payer and self.state == S.AWAITING_AUTHORIZATION:
            link = self._attempt.payment_url
            return link if is_web_link(link) else ""
        return ""

    @property
    def link_expired(self) -> bool:
        """The link's time is up but the attempt has not been expired yet (the worker gets to it shortly)."""
        expires = self.expires_at
        return self.state == S.AWAITING_AUTHORIZATION and expires is not None and expires <= timezone.now()

    @property
    def payment_host(self) -> str:
        """Where the link leads, shown before the payer leaves our site."""
        return urlsplit(self.payment_url).netloc

    @property
    def payment_qr(self) -> SafeString:
        if not self.payment_url:
            return mark_safe("")
        what = "refund" if self.is_refund else "payment"
        return qr_svg(self.payment_url, title=f"QR code of the {what} link")

    @property
    def headline(self) -> str:
        return (REFUND_HEADLINES if self.is_refund else HEADLINES).get(self.state, "")

    @property
    def can_retry(self) -> bool:
        """Whether a new link for the same quote can help: the attempt ended unpaid, and not because the
        quote itself no longer fits the provider's wallet."""
        unpaid = self.state in FINAL and self.state != S.SUCCEEDED
        return self.viewer_is_payer and unpaid and self._attempt.error_code != QUOTE_OUTDATED

    @property
    def tone(self) -> str:
        """How an unpaid end is styled: `neutral` when the payer chose it or time ran out (cancelled,
        declined, expired), `problem` when something failed."""
        return "problem" if self.state == S.FAILED else "neutral"


@dataclass(frozen=True)
class PaymentPanel:
    """The payment panel of a job page, for one viewer."""

    job: Job
    _attempt: PaymentAttempt | None
    viewer: PaymentViewer

    @property
    def _view(self) -> AttemptView | None:
        # A payment's payer is the job's funder.
        return AttemptView(self._attempt, self.viewer, self.viewer.is_funder) if self._attempt else None

    @property
    def viewer_is_funder(self) -> bool:
        return self.viewer.is_funder

    @property
    def sees_details(self) -> bool:
        return self.viewer.sees_details

    @property
    def pays_viewer(self) -> bool:
        """The attempt pays one of the viewer's own quotes."""
        return self._view is not None and self._view.pays_viewer

    @property
    def pays_another_quote(self) -> bool:
        """The viewer is a provider and the attempt pays someone else's quote."""
        return self._attempt is not None and not self.sees_details and not self.pays_viewer

    @property
    def state(self) -> str:
        return self._attempt.status if self._attempt else "none"

    @property
    def cancellable(self) -> bool:
        """Whether the funder may still cancel: the link is unused, or the payment waits on the wallet
        and has not been asked for."""
        return self._view is not None and self._view.cancellable

    @property
    def poll_seconds(self) -> int | None:
        return POLL_SECONDS.get(self.state)

    @property
    def attempt_id(self) -> str:
        """The attempt's id, for the funder and staff only: whoever knows it can answer its finish link."""
        return self._view.attempt_id if self._view else ""

    @property
    def debit(self) -> Money | None:
        """What the funder's wallet pays: the funder's and staff's to see."""
        return self._view.debit if self._view else None

    @property
    def receive(self) -> Money | None:
        """What the provider receives: for the funder, staff and that provider."""
        return self._view.receive if self._view else None

    @property
    def rate(self) -> str:
        """The exchange rate the wallet quoted, fees included, when the funder pays in another asset."""
        return exchange_rate(self.debit, self.receive)

    @property
    def payee_name(self) -> str:
        return display_name(self._attempt.quote.provider) if self._attempt else ""

    @property
    def shows_amounts(self) -> bool:
        return self.sees_details or self.pays_viewer

    @property
    def expires_at(self) -> datetime | None:
        """When the link stops working: the funder's and staff's to see."""
        return self._view.expires_at if self._view else None

    @property
    def error(self) -> str | None:
        """Why the attempt did not pay, told to the funder and staff (it can be about the funder's money)."""
        return self._view.error if self._view else None

    @property
    def took_no_money(self) -> bool:
        """An ended attempt that never created an outgoing payment, told to the funder and staff."""
        return self._view is not None and self._view.took_no_money

    @property
    def payment_url(self) -> str:
        """The wallet's consent link, for the funder only and only while it can be used."""
        return self._view.payment_url if self._view else ""

    @property
    def link_expired(self) -> bool:
        """The link's time is up but the attempt has not been expired yet (the worker gets to it shortly)."""
        return self._view is not None and self._view.link_expired

    @property
    def payment_host(self) -> str:
        """Where the link leads, shown before the funder leaves our site."""
        return self._view.payment_host if self._view else ""

    @property
    def payment_qr(self) -> SafeString:
        return self._view.payment_qr if self._view else mark_safe("")

    @property
    def headline(self) -> str:
        return self._view.headline if self._view else ""

    @property
    def receipt(self) -> Receipt | None:
        if self._attempt and self.state == S.SUCCEEDED and (self.sees_details or self.pays_viewer):
            return Receipt(self._attempt, self.viewer)
        return None

    @property
    def can_retry(self) -> bool:
        return self._view is not None and self._view.can_retry

    @property
    def tone(self) -> str:
        return self._view.tone if self._view else "neutral"

    @property
    def shown_state(self) -> str:
        """The state the panel is styled by: a provider never learns how the funder's unpaid attempts
        ended."""
        return "none" if not self.sees_details and self.state in DEFAULT_ERRORS else self.state

    @property
    def outdated_quote_id(self) -> int | None:
        """The quote the last attempt found outdated (the provider's wallet changed asset since)."""
        attempt = self._attempt
        return attempt.quote_id if attempt and attempt.error_code == QUOTE_OUTDATED else None

    @property
    def retry_quote_id(self) -> int | None:
        return self._attempt.quote_id if self._attempt and self.can_retry else None

    @property
    def from_budget(self) -> bool:
        """The funder's budget pays (or paid) this attempt at once, with no wallet step; told to the funder
        and staff."""
        attempt = self._attempt
        return (
            attempt is not None
            and self.sees_details
            and attempt.budget_id is not None
            and not attempt.budget_fallback
            and not attempt.payment_url
        )

    @property
    def budget_fallback(self) -> str:
        """Why the funder's budget could not pay this attempt (it went on to the usual link), for the funder
        and staff."""
        return self._attempt.budget_fallback if self._attempt and self.sees_details else ""

    @property
    def job_badge(self) -> Badge:
        """The job's badge as this panel sees it (the page's header follows the panel)."""
        return job_badge(self.job.status, self._attempt.status if self._attempt else None)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def attempt_summary(attempt: PaymentAttempt, viewer: PaymentViewer) -> dict[str, object]:
    """One attempt of the history, as the API lists it; ids, the debit and the error for the funder and
    staff only (a provider's history holds only the attempts paying their quotes)."""
    full = viewer.sees_details
    receive = attempt_receive(attempt)
    return {
        "pendingId": str(attempt.pk) if full else None,
        "kind": attempt.kind,
        "refundId": attempt.refund_id,
        "status": attempt.status,
        "success": attempt.status == S.SUCCEEDED,
        "quoteId": attempt.quote_id if full or viewer.is_paid_by(attempt) else None,
        "amount": attempt_debit(attempt).as_json() if full else None,
        "receiveAmount": receive.as_json() if receive and (full or viewer.is_paid_by(attempt)) else None,
        "error": attempt_error(attempt) if full else None,
        "createdAt": _iso(attempt.created_at),
        "finishedAt": _iso(attempt.finished_at),
    }


def payment_document(
    attempt: PaymentAttempt, *, history: Iterable[PaymentAttempt], viewer: PaymentViewer, status_url: str
) -> dict[str, object]:
    """The status document of the job's current attempt (`GET /api/jobs/<id>/payment`).

    Every viewer gets the same keys; what they may not see is null. A provider gets the status, and the
    quote id and receive amount only when the attempt pays their quote.
    """
    full, theirs = viewer.sees_details, viewer.is_paid_by(attempt)
    debit, receive = attempt_debit(attempt), attempt_receive(attempt)
    payment_url = PaymentPanel(attempt.job, attempt, viewer).payment_url or None
    return {
        "jobId": attempt.job_id,
        "pendingId": str(attempt.pk) if full else None,
        "status": attempt.status,
        "final": attempt.status in FINAL,
        "success": attempt.status == S.SUCCEEDED,
        "paymentUrl": payment_url,
        "redirectUrl": payment_url,
        "quoteId": attempt.quote_id if full or theirs else None,
        "walletQuoteId": (attempt.op_quote_url or None) if full else None,
        "incomingPaymentId": (attempt.incoming_payment_url or None) if full else None,
        "outgoingPaymentId": (attempt.outgoing_payment_url or None) if full else None,
        "amount": debit.as_json() if full else None,
        "receiveAmount": receive.as_json() if receive and (full or theirs) else None,
        "assetCode": debit.asset_code if full else None,
        "assetScale": debit.asset_scale if full else None,
        "expiresAt": _iso(attempt.authorization_expires_at) if full else None,
        "error": attempt_error(attempt) if full else None,
        "createdAt": _iso(attempt.created_at),
        "updatedAt": _iso(attempt.updated_at),
        "statusUrl": status_url,
        "attempts": [attempt_summary(past, viewer) for past in history],
    }


def viewer_pays(attempt: PaymentAttempt, viewer: PaymentViewer) -> bool:
    """Whether the viewer is the attempt's payer: the funder of a payment, the paid provider of a refund
    (read from the attempt's quote, so load it with the attempt)."""
    if attempt.is_refund:
        return viewer.user_id == attempt.quote.provider_id
    return viewer.is_funder


@dataclass(frozen=True)
class AttemptRow:
    """One line of a job's history of payments and refunds, for one viewer (a provider's rows pay their
    own quotes, or pay back from them)."""

    _attempt: PaymentAttempt
    viewer: PaymentViewer

    @property
    def _view(self) -> AttemptView:
        return AttemptView(self._attempt, self.viewer, viewer_pays(self._attempt, self.viewer))

    @property
    def is_refund(self) -> bool:
        return self._attempt.is_refund

    @property
    def kind_label(self) -> str:
        """What moved: "Payment" (funder to provider) or "Refund" (provider back to funder)."""
        return "Refund" if self._attempt.is_refund else "Payment"

    @property
    def badge(self) -> Badge:
        status = self._attempt.status
        return refund_attempt_badge(status) if self._attempt.is_refund else attempt_badge(status)

    @property
    def attempt_id(self) -> str:
        return self._view.attempt_id

    @property
    def debit(self) -> Money | None:
        return self._view.debit

    @property
    def receive(self) -> Money | None:
        return attempt_receive(self._attempt)

    @property
    def error(self) -> str | None:
        return self._view.error

    @property
    def tone(self) -> str:
        return self._view.tone

    @property
    def created_at(self) -> datetime:
        return self._attempt.created_at

    @property
    def finished_at(self) -> datetime | None:
        return self._attempt.finished_at


def display_name(user: AbstractBaseUser) -> str:
    """How a person is named to others: their full name, else their username."""
    full = user.get_full_name() if isinstance(user, User) else ""
    return full or user.get_username()


def receipt_number(attempt: PaymentAttempt) -> str:
    """The receipt's number, the same on every copy: "R-20261202-3F9A2C1B" (the day the payment started
    and the start of its attempt's id)."""
    return f"R-{attempt.created_at:%Y%m%d}-{attempt.pk.hex[:8].upper()}"


def exchange_rate(debit: Money | None, receive: Money | None) -> str:
    """ "1 USD = 0.9070 EUR": what one unit the payer sent bought in the receiver's asset, fees included
    (shown only; money is never computed from it); empty unless both are known, in different assets."""
    if debit is None or receive is None or debit.asset_code == receive.asset_code or debit.value <= 0:
        return ""
    units = (Decimal(receive.value).scaleb(-receive.asset_scale)) / Decimal(debit.value).scaleb(
        -debit.asset_scale
    )
    return f"1 {debit.asset_code} = {units.quantize(Decimal('0.0001'))} {receive.asset_code}"


@dataclass(frozen=True)
class Receipt:
    """A paid attempt as its receipt tells it, to one viewer: who paid whom how much for what, and when,
    first; the wallets' records after. The funder and staff see everything; the provider it paid sees
    what they received, from whom, and their own wallet."""

    _attempt: PaymentAttempt
    viewer: PaymentViewer

    @property
    def full(self) -> bool:
        return self.viewer.sees_details

    @property
    def number(self) -> str:
        return receipt_number(self._attempt)

    @property
    def job_title(self) -> str:
        return self._attempt.job.title

    @property
    def payer_name(self) -> str:
        return display_name(self._attempt.job.funder)

    @property
    def payee_name(self) -> str:
        return display_name(self._attempt.quote.provider)

    @property
    def viewer_paid(self) -> bool:
        return self.viewer.is_funder

    @property
    def viewer_was_paid(self) -> bool:
        return self.viewer.is_paid_by(self._attempt)

    @property
    def summary(self) -> str:
        """ "You paid Pavel Provider $45.00 for “Logo”, 2 Dec 2026." in the viewer's words."""
        received, title = self.received, self.job_title
        day = f"{self.paid_at:%-d %b %Y}" if self.paid_at else ""
        if self.viewer_paid:
            return f"You paid {self.payee_name} {received} for “{title}”, {day}."
        if self.viewer_was_paid:
            return f"You were paid {received} by {self.payer_name} for “{title}”, {day}."
        return f"{self.payer_name} paid {self.payee_name} {received} for “{title}”, {day}."

    @property
    def debited(self) -> Money | None:
        # The quote's debit amount is what left the funder's wallet, fees included; the payment's
        # sentAmount stops at the receive amount when the wallet charges a fee.
        return attempt_debit(self._attempt) if self.full else None

    @property
    def received(self) -> Money | None:
        return attempt_received(self._attempt)

    @property
    def fee(self) -> Money | None:
        """What the funder's wallet charged on top, when both sides hold the same asset."""
        debit, received = self.debited, self.received
        if debit is None or received is None or debit.asset_code != received.asset_code:
            return None
        if debit.asset_scale != received.asset_scale or debit.value <= received.value:
            return None
        return Money(debit.value - received.value, debit.asset_code, debit.asset_scale)

    @property
    def rate(self) -> str:
        """The exchange rate, fees included, when the funder paid in another asset than the provider's."""
        return exchange_rate(self.debited, self.received)

    @property
    def sender_wallet(self) -> str:
        return self._attempt.sender_wallet if self.full else ""

    @property
    def receiver_wallet(self) -> str:
        return self._attempt.receiver_wallet

    @property
    def incoming_payment_url(self) -> str:
        return self._attempt.incoming_payment_url if self.full else ""

    @property
    def outgoing_payment_url(self) -> str:
        return self._attempt.outgoing_payment_url if self.full else ""

    @property
    def approved_at(self) -> datetime | None:
        return self._attempt.created_at if self.full else None

    @property
    def authorized_at(self) -> datetime | None:
        return self._attempt.authorized_at if self.full else None

    @property
    def paid_at(self) -> datetime | None:
        return self._attempt.finished_at

    @property
    def attempt_id(self) -> str:
        return str(self._attempt.pk) if self.full else ""


# --- Refunds in the JSON API ---------------------------------------------------------------------

# Refund statuses after which nothing more happens to the refund.
REFUND_SETTLED = frozenset({Refund.Status.DECLINED, Refund.Status.CANCELLED, Refund.Status.REFUNDED})


def refund_document(
    refund: Refund, *, attempts: Iterable[PaymentAttempt], user_id: int, status_url: str
) -> dict[str, object]:
    """The status document of a refund (`GET /api/refunds/<id>`), for someone who may read it in full
    (its funder, staff, the provider paying it back): the payment document's fields about its newest
    attempt (`attempts` come newest first; those fields are null while it has none), and the refund's
    own. The payment link goes to its payer, the provider, alone; `final` says nothing more happens
    without someone acting, `success` that the refund was paid back.
    """
    history = list(attempts)
    latest = history[0] if history else None
    full = PaymentViewer(user_id, is_funder=False, sees_details=True)
    debit = attempt_debit(latest) if latest else None
    receive = attempt_receive(latest) if latest else None
    payer_id = refund.payment.quote.provider_id
    payment_url = None
    if latest and latest.status == S.AWAITING_AUTHORIZATION and user_id == payer_id:
        payment_url = latest.payment_url if is_web_link(latest.payment_url) else None
    touched = latest.updated_at if latest else None
    moments = (refund.created_at, refund.decided_at, refund.refunded_at, touched)
    return {
        "jobId": refund.job_id,
        "pendingId": str(latest.pk) if latest else None,
        "status": latest.status if latest else None,
        "final": (latest is not None and latest.status in FINAL) or refund.status in REFUND_SETTLED,
        "success": refund.status == Refund.Status.REFUNDED,
        "paymentUrl": payment_url,
        "redirectUrl": payment_url,
        "quoteId": refund.payment.quote_id,
        "walletQuoteId": (latest.op_quote_url or None) if latest else None,
        "incomingPaymentId": (latest.incoming_payment_url or None) if latest else None,
        "outgoingPaymentId": (latest.outgoing_payment_url or None) if latest else None,
        "amount": debit.as_json() if debit else None,
        "receiveAmount": receive.as_json() if receive else None,
        "assetCode": debit.asset_code if debit else None,
        "assetScale": debit.asset_scale if debit else None,
        "expiresAt": _iso(latest.authorization_expires_at) if latest else None,
        "error": attempt_error(latest) if latest else None,
        "createdAt": _iso(refund.created_at),
        "updatedAt": _iso(max(moment for moment in moments if moment is not None)),
        "statusUrl": status_url,
        "attempts": [attempt_summary(past, full) for past in history],
        "refundId": refund.pk,
        "refundStatus": refund.status,
        "requestedAmount": Money(refund.amount_value, refund.asset_code, refund.asset_scale).as_json(),
        "reason": refund.reason,
        "declineReason": refund.decline_reason or None,
        "byProvider": refund.by_provider,
        "decidedAt": _iso(refund.decided_at),
        "refundedAt": _iso(refund.refunded_at),
    }


# --- Refunds -------------------------------------------------------------------------------------

# How often the refunds section asks again while a refund waits on a person (an answer, a new link).
REFUND_WAIT_POLL_SECONDS = 10
# A refund's state as the section names it: the refund's own status, or where its latest attempt is.
REFUND_FINAL_STATES = frozenset({"refunded", "declined", "cancelled"})


@dataclass(frozen=True)
class RefundCard:
    """One refund of a job, for one viewer: its funder, the provider it is paid back from, or staff.

    `state` is what a person follows: requested → agreed → generating (the refund link is being made) →
    awaiting_authorization (the provider's wallet) → processing → refunded; or declined, cancelled, and
    `ended` while an agreed refund's last attempt ended unpaid (the provider may get a new link).
    """

    _refund: Refund
    viewer: PaymentViewer

    @property
    def _latest(self) -> PaymentAttempt | None:
        attempts = sorted(self._refund.attempts.all(), key=lambda a: a.created_at, reverse=True)
        return attempts[0] if attempts else None

    @property
    def refund_id(self) -> int:
        return self._refund.pk

    @property
    def job_id(self) -> int:
        return self._refund.job_id

    @property
    def job_title(self) -> str:
        return self._refund.job.title

    @property
    def viewer_is_provider(self) -> bool:
        """The viewer is the provider the money goes back from (the refund attempts' payer)."""
        return self.viewer.user_id == self._refund.payment.quote.provider_id

    @property
    def viewer_is_funder(self) -> bool:
        return self.viewer.is_funder

    @property
    def attempt(self) -> AttemptView | None:
        latest = self._latest
        return AttemptView(latest, self.viewer, self.viewer_is_provider) if latest else None

    @property
    def amount(self) -> Money:
        refund = self._refund
        return Money(refund.amount_value, refund.asset_code, refund.asset_scale)

    @property
    def reason(self) -> str:
        return self._refund.reason

    @property
    def decline_reason(self) -> str:
        return self._refund.decline_reason if self._refund.status == Refund.Status.DECLINED else ""

    @property
    def by_provider(self) -> bool:
        """The provider offered it without being asked."""
        return self._refund.by_provider

    @property
    def created_at(self) -> datetime:
        return self._refund.created_at

    @property
    def decided_at(self) -> datetime | None:
        return self._refund.decided_at

    @property
    def refunded_at(self) -> datetime | None:
        return self._refund.refunded_at

    @property
    def state(self) -> str:
        status = self._refund.status
        if status != Refund.Status.AGREED:
            return str(status)
        latest = self._latest
        if latest is None:
            return "agreed"
        if latest.status == S.AUTHORIZED:
            return S.PROCESSING
        if latest.status in FINAL:
            return "refunded" if latest.status == S.SUCCEEDED else "ended"
        return latest.status

    @property
    def is_final(self) -> bool:
        return self.state in REFUND_FINAL_STATES

    @property
    def poll_seconds(self) -> int | None:
        """How often the viewer's page asks again: while a wallet works, and while the refund waits on
        someone else (never while it waits on the viewer, who may be typing a reason)."""
        if self.is_final:
            return None
        if self.state in POLL_SECONDS:
            return POLL_SECONDS[self.state]
        return None if self.viewer_is_provider else REFUND_WAIT_POLL_SECONDS

    @property
    def headline(self) -> str:
        """Where the refund stands, in the viewer's words."""
        provider, funder = self.viewer_is_provider, self.viewer_is_funder
        match self.state:
            case "requested":
                if provider:
                    return "The funder asks for a refund"
                return "Waiting for the provider to answer" if funder else "Refund requested"
            case "agreed":
                return "Refund agreed"
            case S.GENERATING:
                return "Preparing the refund link…"
            case S.AWAITING_AUTHORIZATION:
                if provider:
                    return "Your refund link is ready"
                return "Waiting for the provider to approve the refund in their wallet"
            case S.PROCESSING:
                return "Processing refund…"
            case "refunded":
                return "Refunded"
            case "declined":
                return "Refund declined"
            case "cancelled":
                return "Refund request cancelled"
        attempt = self.attempt
        return attempt.headline if attempt else "Refund agreed"

    @property
    def badge(self) -> Badge:
        match self.state:
            case "requested":
                return Badge("awaiting", "Requested")
            case "agreed" | "ended":
                return Badge("awaiting", "Agreed")
            case "refunded":
                return Badge("paid", "Refunded")
            case "declined":
                return Badge("declined", "Declined")
            case "cancelled":
                return Badge("cancelled", "Cancelled")
        return REFUND_BADGES[self.state]

    @property
    def ended_error(self) -> str | None:
        """Why the last attempt did not pay the refund back, while the provider may still try again."""
        attempt = self.attempt
        return attempt.error if attempt and self.state == "ended" else None

    @property
    def can_agree(self) -> bool:
        return self.viewer_is_provider and self.state == "requested"

    @property
    def can_get_new_link(self) -> bool:
        return self.viewer_is_provider and self.state in ("agreed", "ended")

    @property
    def can_decline(self) -> bool:
        return self.viewer_is_provider and self.state in ("requested", "agreed", "ended")

    @property
    def can_cancel_request(self) -> bool:
        return self.viewer_is_funder and self.state == "requested"

    @property
    def waits_for_viewer(self) -> bool:
        """The provider has something to do: answer, consent in their wallet, or get a new link."""
        return self.viewer_is_provider and self.state in (
            "requested",
            "agreed",
            "ended",
            S.AWAITING_AUTHORIZATION,
        )

    @property
    def receipt(self) -> RefundReceipt | None:
        latest = self._latest
        if self.state == "refunded" and latest is not None and latest.status == S.SUCCEEDED:
            return RefundReceipt(latest)
        return None


@dataclass(frozen=True)
class RefundReceipt:
    """What a refund moved, told to both sides: what left the provider's wallet and what reached the
    funder's, between which wallets, and when."""

    _attempt: PaymentAttempt

    @property
    def debited(self) -> Money:
        return attempt_debit(self._attempt)

    @property
    def received(self) -> Money | None:
        return attempt_received(self._attempt)

    @property
    def sender_wallet(self) -> str:
        return self._attempt.sender_wallet

    @property
    def receiver_wallet(self) -> str:
        return self._attempt.receiver_wallet

    @property
    def refunded_at(self) -> datetime | None:
        return self._attempt.finished_at

    @property
    def outgoing_payment_url(self) -> str:
        return self._attempt.outgoing_payment_url


@dataclass(frozen=True)
class RefundsPanel:
    """The refunds section of a paid job's page, for its funder, its paid provider or staff."""

    job: Job
    paid: PaymentAttempt
    cards: list[RefundCard]
    viewer: PaymentViewer

    @property
    def viewer_is_funder(self) -> bool:
        return self.viewer.is_funder

    @property
    def viewer_is_provider(self) -> bool:
        return self.viewer.user_id == self.paid.quote.provider_id

    @property
    def asset_code(self) -> str:
        return self.paid.quote.asset_code

    @property
    def asset_scale(self) -> int:
        return self.paid.quote.asset_scale

    @property
    def remaining(self) -> Money:
        """What may still be refunded on the job."""
        left = (self.job.paid_amount or 0) - self.job.refunds_committed
        return Money(max(left, 0), self.asset_code, self.asset_scale)

    @property
    def refunded(self) -> Money:
        return Money(self.job.refunded_amount, self.asset_code, self.asset_scale)

    @property
    def paid_amount(self) -> Money:
        return Money(self.job.paid_amount or 0, self.asset_code, self.asset_scale)

    @property
    def poll_seconds(self) -> int | None:
        """The shortest wait of any refund still moving; None once every refund is settled."""
        waits = [card.poll_seconds for card in self.cards if card.poll_seconds]
        return min(waits) if waits else None

    @property
    def signature(self) -> str:
        """Each refund's state, so a poll can tell whether anything changed since the page showed it."""
        return ";".join(f"{card.refund_id}:{card.state}" for card in self.cards)

    @property
    def announcement(self) -> str:
        """What a screen reader hears when something changed: the newest refund's state."""
        return f"Refund: {self.cards[0].headline}" if self.cards else ""

    @property
    def job_badge(self) -> Badge:
        return refund_badge(self.job, self.asset_code, self.asset_scale) or PAID
