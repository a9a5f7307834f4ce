"""The JSON API: approve a quote, read a job's payment status.

Callers authenticate with their session (and then send the CSRF token on POSTs, as the pages do) or with
`Authorization: Token <key>` (no CSRF: no browser sends that header by itself). A client that sent too
many bad tokens gets 429 with Retry-After, whatever token it sends, until the lock-out ends. Errors are
`{"error": "<plain words>"}`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from jobs import presenters, selectors, services
from jobs.http import AuthenticatedRequest
from jobs.models import Job, PaymentAttempt, Quote
from marketplace import throttle
from worker import tasks

NOT_AUTHENTICATED = "Log in, or send Authorization: Token <key>."
BAD_TOKEN = "The API token is not valid."  # noqa: S105 - a message, not a credential
NO_JOB = "No such job."
NO_QUOTE = "No such quote on this job."
NO_PAYMENT = "This job has no payment yet."
CSRF_FAILED = "CSRF check failed; send the X-CSRFToken header with session authentication."

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
