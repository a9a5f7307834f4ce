"""The JSON API: approve a quote, read a job's payment status; ask for, offer, agree to, decline, cancel
and read refunds.

Callers authenticate with their session (and then send the CSRF token on POSTs, as the pages do) or with
`Authorization: Token <key>` (no CSRF: no browser sends that header by itself). A client that sent too
many bad tokens gets 429 with Retry-After, whatever token it sends, until the lock-out ends. Errors are
`{"error": "<plain words>"}`: 400 for a body we cannot read, 403 for an action the marketplace refuses
(or that is someone else's to take), 404 for what the caller may not see (it does not exist to them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jobs import presenters, selectors, services
from jobs.http import AuthenticatedRequest
from jobs.models import Job, PaymentAttempt, Quote, Refund
from jobs.money import MAX_MINOR_UNITS, AmountInvalid, Money, parse_amount, plain_decimal
from marketplace import throttle
from worker import tasks

NOT_AUTHENTICATED = "Log in, or send Authorization: Token <key>."
BAD_TOKEN = "The API token is not valid."  # noqa: S105 - a message, not a credential
NO_JOB = "No such job."
NO_QUOTE = "No such quote on this job."
NO_PAYMENT = "This job has no payment yet."
CSRF_FAILED = "CSRF check failed; send the X-CSRFToken header with session authentication."
NO_REFUND = "No such refund."
NOT_JSON = "Send a JSON object as the request body."
NOT_A_REASON = "The reason must be a string."
ONLY_PROVIDER_ANSWERS = "Only the provider who was paid can agree to or decline a refund."
ONLY_FUNDER_CANCELS = "Only the job's funder can cancel a refund request."

View = Callable[..., HttpResponse]


def error(message: str, status: int) -> JsonResponse:
    """An API error document."""
    return JsonResponse({"error": message}, status=status)


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        return error(CSRF_FAILED, 403)


def _csrf_failure(request: HttpRequest, view: View) -> HttpResponse | None:
    check = _CsrfCheck(lambda _request: HttpResponse())
    check.process_request(request)
    return check.process_view(request, view, (), {})


def _authenticate(request: HttpRequest, view: View) -> HttpResponse | None:
    """Sets `request.user` from a token, or checks the session's CSRF token; an error when neither holds."""
    header = request.headers.get("Authorization", "")
    if header:
        client = throttle.client(request)
        locked = throttle.lockout(client)
        if locked is not None:
            return _throttled(locked)
        scheme, _, key = header.partition(" ")
        key = key.strip()
        user = services.api_token_authenticate(key) if scheme.lower() == "token" and key else None
        if user is None:
            locked = throttle.fail(client)
            return _unauthorized(BAD_TOKEN) if locked is None else _throttled(locked)
        request.user = user
        return None
    if not request.user.is_authenticated:
        return _unauthorized(NOT_AUTHENTICATED)
    return _csrf_failure(request, view)


def _throttled(locked: throttle.Lockout) -> HttpResponse:
    response = error(locked.message, 429)
    response["Retry-After"] = str(locked.seconds)
    return response


def _unauthorized(message: str) -> HttpResponse:
    response = error(message, 401)
    response["WWW-Authenticate"] = "Token"
    return response


def api_view(view: View) -> View:
    """Authenticates the request by token or session before `view` runs; the CSRF check is done here."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        return _authenticate(request, view) or view(request, *args, **kwargs)

    return wrapper


def _status_url(job_id: int) -> str:
    return reverse("api-job-payment", kwargs={"job_id": job_id})


def _document(attempt: PaymentAttempt, viewer: selectors.PaymentViewer) -> dict[str, object]:
    job = attempt.job
    return presenters.payment_document(
        attempt,
        history=selectors.job_attempts_for(job, viewer),
        viewer=viewer,
        status_url=_status_url(job.pk),
    )


@require_POST
@api_view
def quote_approve(request: AuthenticatedRequest, job_id: int, quote_id: int) -> HttpResponse:
    """`POST /api/jobs/<id>/quotes/<quote id>/approve` → 202 with the status document, every time."""
    try:
        approval = services.job_quote_approve(job_id=job_id, quote_id=quote_id, funder=request.user)
    except Job.DoesNotExist:
        return error(NO_JOB, 404)
    except Quote.DoesNotExist:
        return error(NO_QUOTE, 404)
    except services.ActionRefused as refusal:
        return error(str(refusal), 403)
    if approval.created:
        tasks.generate_link.delay_on_commit(str(approval.attempt.pk))
    funder = selectors.PaymentViewer(request.user.pk, is_funder=True, sees_details=True)
    response = JsonResponse(_document(approval.attempt, funder), status=202)
    response["Location"] = _status_url(job_id)
    return response


@require_GET
@api_view
def job_payment(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """`GET /api/jobs/<id>/payment`: the current attempt's status document, as much of it as the viewer
    may see (the funder and staff all of it, a provider who quoted their part)."""
    job = Job.objects.filter(pk=job_id).first()
    viewer = selectors.job_payment_viewer(job, request.user) if job else None
    if job is None or viewer is None:
        return error(NO_JOB, 404)
    attempt = selectors.job_latest_attempt(job)
    if attempt is None:
        return error(NO_PAYMENT, 404)
    return JsonResponse(_document(attempt, viewer))


# Refunds


class BadRequest(Exception):
    """A request body the API cannot use, with what to send instead."""


def _refund_url(refund_id: int) -> str:
    return reverse("api-refund", kwargs={"refund_id": refund_id})


def _refunds() -> QuerySet[Refund]:
    """Refunds with what their document reads: the job, the payment and its quote, the attempts newest
    first."""
    attempts = PaymentAttempt.objects.select_related("quote").order_by("-created_at")
    return Refund.objects.select_related("job", "payment__quote").prefetch_related(
        Prefetch("attempts", queryset=attempts)
    )


def _reads_refund(refund: Refund, user: User) -> bool:
    """Whether `user` may read the refund: the job's funder, staff who may read payments, or the provider
    the refunded payment paid."""
    viewer = selectors.job_payment_viewer(refund.job, user)
    return viewer is not None and (viewer.sees_details or viewer.is_paid_by(refund.payment))


def _reads_job_refunds(job: Job, user: User) -> bool:
    """Whether `user` may read the job's refunds (as `_reads_refund`; a provider only once they were paid)."""
    viewer = selectors.job_payment_viewer(job, user)
    if viewer is None or viewer.sees_details:
        return viewer is not None
    paid = selectors.job_paid_attempt(job)
    return paid is not None and viewer.is_paid_by(paid)


def _refund_document(refund: Refund, user: User) -> dict[str, object]:
    return presenters.refund_document(
        refund, attempts=refund.attempts.all(), user_id=user.pk, status_url=_refund_url(refund.pk)
    )


def _refund_response(refund: Refund, user: User, status: int) -> JsonResponse:
    """The refund's document, with its address in Location."""
    response = JsonResponse(_refund_document(refund, user), status=status)
    response["Location"] = _refund_url(refund.pk)
    return response


def _body(request: HttpRequest) -> dict[str, object]:
    """The JSON object the client sent; an empty body is an empty object."""
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(NOT_JSON) from None
    if not isinstance(body, dict):
        raise BadRequest(NOT_JSON)
    return body


def _reason(body: dict[str, object]) -> str:
    reason = body.get("reason")
    if reason is None:
        return ""
    if not isinstance(reason, str):
        raise BadRequest(NOT_A_REASON)
    return reason


_MINOR_UNITS = re.compile(r"\d{1,30}")


def _amount(body: dict[str, object], quote: Quote) -> int | None:
    """The amount asked for, in minor units of the paid quote's asset; None (everything left) when the
    body has none. A decimal string ("15.00") or an Open Payments amount in that asset."""
    amount = body.get("amount")
    code, scale = quote.asset_code, quote.asset_scale
    if amount is None:
        return None
    if isinstance(amount, str):
        try:
            return parse_amount(amount, scale, code)
        except AmountInvalid as invalid:
            raise BadRequest(str(invalid)) from None
    example = plain_decimal(10**scale, scale)
    if not isinstance(amount, dict):
        raise BadRequest(
            f'Send the amount as a string such as "{example}", or as an Open Payments '
            f'amount such as {{"value": "{10**scale}", "assetCode": "{code}", "assetScale": {scale}}}.'
        )
    asset = (amount.get("assetCode"), amount.get("assetScale"))
    if asset != (code, scale) or isinstance(amount.get("assetScale"), bool):
        raise BadRequest(
            f"The amount must be in {code} at scale {scale}, the asset the provider was paid in."
        )
    value = amount.get("value")
    if not isinstance(value, str) or not _MINOR_UNITS.fullmatch(value):
        raise BadRequest('The amount\'s value must be a string of digits, in minor units (e.g. "1500").')
    if int(value) <= 0:
        raise BadRequest("Enter an amount greater than zero.")
    if int(value) > MAX_MINOR_UNITS:
        raise BadRequest("That amount is too large.")
    return int(value)


@require_http_methods(["GET", "POST"])
@api_view
def job_refunds(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """`GET /api/jobs/<id>/refunds`: what is left to refund and every refund of the job, newest first.
    `POST` (the funder asks for money back, `{"amount": "15.00", "reason": "…"}`, no amount meaning
    everything left) → 201 with the refund's document."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not _reads_job_refunds(job, request.user):
        return error(NO_JOB, 404)
    paid = selectors.job_paid_attempt(job)
    if request.method == "POST":
        return _refund_request(request, job, paid)
    remaining = services.refund_remaining(job)
    quote = paid.quote if paid else None
    return JsonResponse(
        {
            "jobId": job.pk,
            "refundable": Money(remaining, quote.asset_code, quote.asset_scale).as_json() if quote else None,
            "refunds": [_refund_document(refund, request.user) for refund in _refunds().filter(job=job)],
        }
    )


def _refund_request(request: AuthenticatedRequest, job: Job, paid: PaymentAttempt | None) -> HttpResponse:
    try:
        body = _body(request)
        # An unpaid job has no asset to read the amount in: the service refuses it whatever was sent.
        amount = _amount(body, paid.quote) if paid else None
        reason = _reason(body)
        refund = services.refund_request(job_id=job.pk, funder=request.user, amount=amount, reason=reason)
    except BadRequest as bad:
        return error(str(bad), 400)
    except Job.DoesNotExist:
        return error(services.ONLY_FUNDER_ASKS, 403)
    except services.ActionRefused as refusal:
        return error(str(refusal), 403)
    return _refund_response(_refunds().get(pk=refund.pk), request.user, 201)


@require_POST
@api_view
def refund_offer(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """`POST /api/jobs/<id>/refunds/offer`: the paid provider sends money back on their own initiative
    (`{"amount": …, "reason": …}` as for a request) → 202 with the refund's document, its attempt started."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not _reads_job_refunds(job, request.user):
        return error(NO_JOB, 404)
    paid = selectors.job_paid_attempt(job)
    try:
        body = _body(request)
        amount = _amount(body, paid.quote) if paid else None
        offer = services.refund_offer(
            job_id=job_id, provider=request.user, amount=amount, reason=_reason(body)
        )
    except BadRequest as bad:
        return error(str(bad), 400)
    except Job.DoesNotExist:
        return error(services.NOT_PAID_PROVIDER, 403)
    except services.ActionRefused as refusal:
        return error(str(refusal), 403)
    if offer.created:
        tasks.generate_link.delay_on_commit(str(offer.attempt.pk))
    return _refund_response(_refunds().get(attempts=offer.attempt), request.user, 202)


def _readable_refund(refund_id: int, user: User) -> Refund | None:
    refund = _refunds().filter(pk=refund_id).first()
    return refund if refund is not None and _reads_refund(refund, user) else None


@require_GET
@api_view
def refund_detail(request: AuthenticatedRequest, refund_id: int) -> HttpResponse:
    """`GET /api/refunds/<id>`: the refund's status document."""
    refund = _readable_refund(refund_id, request.user)
    if refund is None:
        return error(NO_REFUND, 404)
    return JsonResponse(_refund_document(refund, request.user))


@require_POST
@api_view
def refund_agree(request: AuthenticatedRequest, refund_id: int) -> HttpResponse:
    """`POST /api/refunds/<id>/agree`: the provider agrees (or asks for a new link after an attempt that
    did not pay) → 202 with the document; a repeat answers the attempt already under way."""
    if _readable_refund(refund_id, request.user) is None:
        return error(NO_REFUND, 404)
    try:
        approval = services.refund_agree(refund_id=refund_id, provider=request.user)
    except Refund.DoesNotExist:
        return error(ONLY_PROVIDER_ANSWERS, 403)
    except services.ActionRefused as refusal:
        return error(str(refusal), 403)
    if approval.created:
        tasks.generate_link.delay_on_commit(str(approval.attempt.pk))
    return _refund_response(_refunds().get(pk=refund_id), request.user, 202)


@require_POST
@api_view
def refund_decline(request: AuthenticatedRequest, refund_id: int) -> HttpResponse:
    """`POST /api/refunds/<id>/decline` (`{"reason": …}`, read by the funder): the provider declines →
    200 with the document."""
    if _readable_refund(refund_id, request.user) is None:
        return error(NO_REFUND, 404)
    try:
        reason = _reason(_body(request))
        services.refund_decline(refund_id=refund_id, provider=request.user, reason=reason)
    except BadRequest as bad:
        return error(str(bad), 400)
    except Refund.DoesNotExist:
        return error(ONLY_PROVIDER_ANSWERS, 403)
    except services.ActionRefused as refusal:
        return error(str(refusal), 403)
    return _refund_response(_refunds().get(pk=refund_id), request.user, 200)


@require_POST
@api_view
def refund_cancel(request: AuthenticatedRequest, refund_id: int) -> HttpResponse:
    """`POST /api/refunds/<id>/cancel`: the funder withdraws a request not answered yet → 200 with the
    document."""
    if _readable_refund(refund_id, request.user) is None:
        return error(NO_REFUND, 404)
    try:
        services.refund_cancel(refund_id=refund_id, funder=request.user)
    except Refund.DoesNotExist:
        return error(ONLY_FUNDER_CANCELS, 403)
    except services.ActionRefused as refusal:
        return error(str(refusal), 403)
    return _refund_response(_refunds().get(pk=refund_id), request.user, 200)
