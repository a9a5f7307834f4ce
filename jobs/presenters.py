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
from urllib.parse import urlsplit

import segno
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from jobs.models import AttemptStatus as S
from jobs.models import Job, PaymentAttempt
from jobs.money import Money
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


def attempt_debit(attempt: PaymentAttempt) -> Money:
    """What leaves the funder's wallet once the wallet quoted it; until then, the provider's price."""
    if attempt.debit_amount is not None and attempt.debit_asset_scale is not None:
        return Money(attempt.debit_amount, attempt.debit_asset_code, attempt.debit_asset_scale)
    quote = attempt.quote
    return Money(quote.amount_value, quote.asset_code, quote.asset_scale)


def attempt_receive(attempt: PaymentAttempt) -> Money | None:
    """What reaches the provider's wallet, once the wallet quoted it."""
    if attempt.receive_amount is None or attempt.receive_asset_scale is None:
        return None
    return Money(attempt.receive_amount, attempt.receive_asset_code, attempt.receive_asset_scale)


def attempt_error(attempt: PaymentAttempt) -> str | None:
    """Why a final attempt did not pay, in plain words; None while it may still pay or once it paid."""
    if attempt.status not in DEFAULT_ERRORS:
        return None
    return attempt.error or DEFAULT_ERRORS[attempt.status]


def is_web_link(url: str) -> bool:
    """Whether a stored link may be put in an href or a redirect: http(s) only, never `javascript:` & co."""
    return urlsplit(url).scheme in ("https", "http")


def qr_svg(url: str) -> SafeString:
    """The URL as an inline SVG QR code (segno escapes nothing of ours: the URL is only encoded)."""
    svg = segno.make(url, error="m").svg_inline(scale=4, border=2, title="QR code of the payment link")
    return mark_safe(svg)  # noqa: S308 - segno writes this markup; the URL is drawn, never inserted as text


@dataclass(frozen=True)
class PaymentPanel:
    """The payment panel of a job page, for one viewer."""

    job: Job
    _attempt: PaymentAttempt | None
    viewer: PaymentViewer

    @property
    def viewer_is_funder(self) -> bool:
        return self.viewer.is_funder

    @property
    def sees_details(self) -> bool:
        return self.viewer.sees_details

    @property
    def pays_viewer(self) -> bool:
        """The attempt pays one of the viewer's own quotes."""
        return self._attempt is not None and self.viewer.is_paid_by(self._attempt)

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
        attempt = self._attempt
        if attempt is None or not self.viewer_is_funder:
            return False
        waiting = attempt.status == S.AUTHORIZED and not attempt.outgoing_payment_requested_at
        return attempt.status == S.AWAITING_AUTHORIZATION or waiting

    @property
    def poll_seconds(self) -> int | None:
        return POLL_SECONDS.get(self.state)

    @property
    def attempt_id(self) -> str:
        """The attempt's id, for the funder and staff only: whoever knows it can answer its finish link."""
        return str(self._attempt.pk) if self._attempt and self.sees_details else ""

    @property
    def debit(self) -> Money | None:
        """What the funder's wallet pays: the funder's and staff's to see."""
        return attempt_debit(self._attempt) if self._attempt and self.sees_details else None

    @property
    def receive(self) -> Money | None:
        """What the provider receives: for the funder, staff and that provider."""
        if self._attempt and (self.sees_details or self.pays_viewer):
            return attempt_receive(self._attempt)
        return None

    @property
    def shows_amounts(self) -> bool:
        return self.sees_details or self.pays_viewer

    @property
    def expires_at(self) -> datetime | None:
        """When the link stops working: the funder's and staff's to see."""
        return self._attempt.authorization_expires_at if self._attempt and self.sees_details else None

    @property
    def error(self) -> str | None:
        """Why the attempt did not pay, told to the funder and staff (it can be about the funder's money)."""
        return attempt_error(self._attempt) if self._attempt and self.sees_details else None

    @property
    def took_no_money(self) -> bool:
        """An ended attempt that never created an outgoing payment, told to the funder and staff."""
        return self._attempt is not None and self.sees_details and not self._attempt.outgoing_payment_url

    @property
    def payment_url(self) -> str:
        """The wallet's consent link, for the funder only and only while it can be used."""
        if self.viewer_is_funder and self.state == S.AWAITING_AUTHORIZATION and self._attempt:
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
        """Where the link leads, shown before the funder leaves our site."""
        return urlsplit(self.payment_url).netloc

    @property
    def payment_qr(self) -> SafeString:
        return qr_svg(self.payment_url) if self.payment_url else mark_safe("")

    @property
    def headline(self) -> str:
        return HEADLINES.get(self.state, "")

    @property
    def receipt(self) -> Receipt | None:
        if self._attempt and self.state == S.SUCCEEDED and (self.sees_details or self.pays_viewer):
            return Receipt(self._attempt, full=self.sees_details)
        return None

    @property
    def can_retry(self) -> bool:
        return self.viewer_is_funder and self.state in FINAL and self.state != S.SUCCEEDED

    @property
    def retry_quote_id(self) -> int | None:
        return self._attempt.quote_id if self._attempt and self.can_retry else None

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


@dataclass(frozen=True)
class AttemptRow:
    """One line of a job's attempt history, for one viewer (a provider's rows pay their own quotes)."""

    _attempt: PaymentAttempt
    viewer: PaymentViewer

    @property
    def badge(self) -> Badge:
        return attempt_badge(self._attempt.status)

    @property
    def attempt_id(self) -> str:
        return str(self._attempt.pk) if self.viewer.sees_details else ""

    @property
    def debit(self) -> Money | None:
        return attempt_debit(self._attempt) if self.viewer.sees_details else None

    @property
    def receive(self) -> Money | None:
        return attempt_receive(self._attempt)

    @property
    def error(self) -> str | None:
        return attempt_error(self._attempt) if self.viewer.sees_details else None

    @property
    def created_at(self) -> datetime:
        return self._attempt.created_at

    @property
    def finished_at(self) -> datetime | None:
        return self._attempt.finished_at


@dataclass(frozen=True)
class Receipt:
    """What a paid attempt moved, between which wallets, and when: in `full` for the funder and staff;
    for the provider it paid, what they received, in which wallet, and when."""

    _attempt: PaymentAttempt
    full: bool

    @property
    def debited(self) -> Money | None:
        # The quote's debit amount is what left the funder's wallet, fees included; the payment's
        # sentAmount stops at the receive amount when the wallet charges a fee.
        return attempt_debit(self._attempt) if self.full else None

    @property
    def received(self) -> Money | None:
        attempt = self._attempt
        if attempt.received_amount is not None and attempt.receive_asset_scale is not None:
            return Money(attempt.received_amount, attempt.receive_asset_code, attempt.receive_asset_scale)
        return attempt_receive(attempt)

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
