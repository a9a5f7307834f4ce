"""What pages and the API show of jobs and payment attempts: badges, the payment panel, the status document.

Nothing here reads secrets: tokens, nonces and `interact_ref` never reach a presenter's output.
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
    attempt: PaymentAttempt | None
    viewer_is_funder: bool

    @property
    def state(self) -> str:
        return self.attempt.status if self.attempt else "none"

    @property
    def poll_seconds(self) -> int | None:
        return POLL_SECONDS.get(self.state)

    @property
    def debit(self) -> Money | None:
        return attempt_debit(self.attempt) if self.attempt else None

    @property
    def receive(self) -> Money | None:
        return attempt_receive(self.attempt) if self.attempt else None

    @property
    def error(self) -> str | None:
        return attempt_error(self.attempt) if self.attempt else None

    @property
    def payment_url(self) -> str:
        """The wallet's consent link, for the funder only and only while it can be used."""
        if self.viewer_is_funder and self.state == S.AWAITING_AUTHORIZATION and self.attempt:
            link = self.attempt.payment_url
            return link if is_web_link(link) else ""
        return ""

    @property
    def link_expired(self) -> bool:
        """The link's time is up but the attempt has not been expired yet (the worker gets to it shortly)."""
        expires = self.attempt.authorization_expires_at if self.attempt else None
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
        return Receipt(self.attempt) if self.attempt and self.state == S.SUCCEEDED else None

    @property
    def can_retry(self) -> bool:
        return self.viewer_is_funder and self.state in FINAL and self.state != S.SUCCEEDED

    @property
    def job_badge(self) -> Badge:
        """The job's badge as this panel sees it (the page's header follows the panel)."""
        return job_badge(self.job.status, self.attempt.status if self.attempt else None)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def attempt_summary(attempt: PaymentAttempt) -> dict[str, object]:
    """One attempt of the history, as the API lists it."""
    receive = attempt_receive(attempt)
    return {
        "pendingId": str(attempt.pk),
        "status": attempt.status,
        "success": attempt.status == S.SUCCEEDED,
        "quoteId": attempt.quote_id,
        "amount": attempt_debit(attempt).as_json(),
        "receiveAmount": receive.as_json() if receive else None,
        "error": attempt_error(attempt),
        "createdAt": _iso(attempt.created_at),
        "finishedAt": _iso(attempt.finished_at),
    }


def payment_document(
    attempt: PaymentAttempt, *, history: Iterable[PaymentAttempt], viewer_is_funder: bool, status_url: str
) -> dict[str, object]:
    """The status document of the job's current attempt (`GET /api/jobs/<id>/payment`)."""
    debit, receive = attempt_debit(attempt), attempt_receive(attempt)
    payment_url = PaymentPanel(attempt.job, attempt, viewer_is_funder).payment_url or None
    return {
        "jobId": attempt.job_id,
        "pendingId": str(attempt.pk),
        "status": attempt.status,
        "final": attempt.status in FINAL,
        "success": attempt.status == S.SUCCEEDED,
        "paymentUrl": payment_url,
        "redirectUrl": payment_url,
        "quoteId": attempt.quote_id,
        "walletQuoteId": attempt.op_quote_url or None,
        "incomingPaymentId": attempt.incoming_payment_url or None,
        "outgoingPaymentId": attempt.outgoing_payment_url or None,
        "amount": debit.as_json(),
        "receiveAmount": receive.as_json() if receive else None,
        "assetCode": debit.asset_code,
        "assetScale": debit.asset_scale,
        "expiresAt": _iso(attempt.authorization_expires_at),
        "error": attempt_error(attempt),
        "createdAt": _iso(attempt.created_at),
        "updatedAt": _iso(attempt.updated_at),
        "statusUrl": status_url,
        "attempts": [attempt_summary(past) for past in history],
    }


@dataclass(frozen=True)
class AttemptRow:
    """One line of a job's attempt history."""

    attempt: PaymentAttempt

    @property
    def badge(self) -> Badge:
        return attempt_badge(self.attempt.status)

    @property
    def debit(self) -> Money:
        return attempt_debit(self.attempt)

    @property
    def receive(self) -> Money | None:
        return attempt_receive(self.attempt)

    @property
    def error(self) -> str | None:
        return attempt_error(self.attempt)


@dataclass(frozen=True)
class Receipt:
    """What a paid attempt moved, between which wallets, and when."""

    attempt: PaymentAttempt

    @property
    def debited(self) -> Money:
        # The quote's debit amount is what left the funder's wallet, fees included; the payment's
        # sentAmount stops at the receive amount when the wallet charges a fee.
        return attempt_debit(self.attempt)

    @property
    def received(self) -> Money | None:
        attempt = self.attempt
        if attempt.received_amount is not None and attempt.receive_asset_scale is not None:
            return Money(attempt.received_amount, attempt.receive_asset_code, attempt.receive_asset_scale)
        return attempt_receive(attempt)
