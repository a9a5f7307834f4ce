"""The wallet's finish redirect: where the payer's browser lands after approving or declining (the
funder's for a payment, the provider's for a refund).

No network call happens here: a verified approval only moves the attempt to `authorized` and enqueues the
grant continuation; a decline ends the attempt only in the funder's own session (see
`services.attempt_finish`). The redirect target is always our own job page, never anything from the query.
"""

from __future__ import annotations

import logging
import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from jobs import selectors, services
from jobs.models import AttemptStatus
from worker import tasks

logger = logging.getLogger(__name__)

UNKNOWN_LINK = "We do not know this payment link. Open the job from the marketplace to see its payment."


@require_GET
def payment_finish(request: HttpRequest, attempt_id: uuid.UUID) -> HttpResponse:
    """Applies `?hash=…&interact_ref=…` or `?result=…` to the attempt named in the path."""
    attempt = selectors.attempt_get(attempt_id)
    if attempt is None:
        logger.warning("finish callback refused attempt_id=%s reason=unknown_attempt", attempt_id)
        return _problem(request, UNKNOWN_LINK, status=404)
    if request.user.is_authenticated and not selectors.job_follows_payment(attempt.job, request.user):
        logger.warning("finish callback refused attempt_id=%s reason=foreign_user", attempt.pk)
        raise Http404("No such payment.")
    by_payer = request.user.is_authenticated and request.user.pk == attempt.payer_id
    try:
        status = services.attempt_finish(
            attempt=attempt,
            received_hash=request.GET.get("hash", ""),
            interact_ref=request.GET.get("interact_ref", ""),
            result=request.GET.get("result", ""),
            by_payer=by_payer,
        )
    except services.FinishRefused as refusal:
        logger.warning("finish callback refused attempt_id=%s reason=%s", attempt.pk, refusal.reason)
        return _problem(request, str(refusal), status=400, job_id=attempt.job_id)
    logger.info("finish callback attempt_id=%s status=%s", attempt.pk, status)
    if status == AttemptStatus.AWAITING_AUTHORIZATION:
        return render(request, "jobs/finish_reported.html", {"job_id": attempt.job_id})
    if status == AttemptStatus.AUTHORIZED:
        tasks.continue_grant.delay_on_commit(str(attempt.pk))
        what = "Refund" if attempt.is_refund else "Payment"
        messages.success(request, f"{what} approved in your wallet. Processing {what.lower()}…")
        return redirect("job-detail", job_id=attempt.job_id)
    if status in (AttemptStatus.DECLINED, AttemptStatus.EXPIRED):
        # The grant may still be pending at the wallet; release it, as the reconciler does for expiries.
        tasks.cancel_grant.delay_on_commit(str(attempt.pk))
    attempt.refresh_from_db(fields=["error"])
    messages.warning(request, attempt.error)
    return redirect("job-detail", job_id=attempt.job_id)


def _problem(request: HttpRequest, message: str, *, status: int, job_id: int | None = None) -> HttpResponse:
    return render(request, "jobs/finish_problem.html", {"message": message, "job_id": job_id}, status=status)
