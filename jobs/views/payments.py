"""Paying a job from its page: approve a quote, follow the payment panel, cancel a link, see the receipt."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from jobs import one_click, presenters, selectors, services
from jobs.http import AuthenticatedRequest
from jobs.models import Job, Quote
from worker import tasks


@login_required
@require_POST
def quote_approve(request: AuthenticatedRequest, job_id: int, quote_id: int) -> HttpResponse:
    """The funder approves a quote: starts a payment attempt (once) and remembers this browser started it."""
    try:
        approval = services.job_quote_approve(job_id=job_id, quote_id=quote_id, funder=request.user)
    except (Job.DoesNotExist, Quote.DoesNotExist):
        raise Http404("No such quote on this job.") from None
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("job-detail", job_id=job_id)
    attempt = approval.attempt
    if approval.created:
        tasks.generate_link.delay_on_commit(str(attempt.pk))
        if attempt.budget_id:
            messages.success(request, "Quote approved. Paying it from your budget…")
        else:
            messages.success(request, "Quote approved. Generating your payment link…")
    elif attempt.quote_id != quote_id:
        messages.info(request, "A payment for this job is already in progress.")
    else:
        messages.info(request, "Your payment is already on its way; here is where it stands.")
    one_click.remember(request.session, attempt)
    return redirect("job-detail", job_id=job_id)


@login_required
@require_GET
def payment_panel(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """The panel alone, for htmx polling; sends the approving browser to the wallet once, when ready."""
    job = get_object_or_404(Job, pk=job_id)
    viewer = selectors.job_payment_viewer(job, request.user)
    if viewer is None:
        raise Http404("No such job.")
    if viewer.is_funder:
        services.job_funder_seen(job)
    attempt = selectors.job_latest_attempt(job)
    # The session flag is the funder's, but only the funder is ever sent to the link.
    if attempt is not None and viewer.is_funder and request.htmx and one_click.take(request.session, attempt):
        return HttpResponseClientRedirect(attempt.payment_url)
    panel = presenters.PaymentPanel(job, attempt, viewer)
    return render(request, "jobs/_payment_panel.html", {"panel": panel})


@login_required
@require_POST
def attempt_cancel(request: AuthenticatedRequest, attempt_id: uuid.UUID) -> HttpResponse:
    """The payer (the funder, or the provider for a refund) cancels a link they have not used; the grant
    is revoked after commit."""
    attempt = selectors.attempt_get(attempt_id)
    if attempt is None or attempt.payer_id != request.user.pk:
        raise Http404("No such payment.")
    if services.attempt_cancel(attempt_id=attempt.pk, refund=attempt.is_refund):
        tasks.cancel_grant.delay_on_commit(str(attempt.pk))
        one_click.forget(request.session, attempt)
        if attempt.is_refund:
            messages.success(request, "Refund link cancelled. Nothing was sent.")
        else:
            messages.success(request, "Payment link cancelled. Nothing was paid.")
    else:
        messages.error(request, services.NOT_CANCELLABLE)
    return redirect("job-detail", job_id=attempt.job_id)


@login_required
@require_GET
def receipt(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """The receipt of a paid job: in full for its funder and staff, what they received for the provider
    it paid; nobody else has one."""
    job = get_object_or_404(Job, pk=job_id)
    paid = selectors.job_paid_attempt(job)
    viewer = selectors.job_payment_viewer(job, request.user)
    if paid is None or viewer is None or not (viewer.sees_details or viewer.is_paid_by(paid)):
        raise Http404("No receipt for this job.")
    receipt = presenters.Receipt(paid, viewer)
    return render(request, "jobs/receipt.html", {"job": job, "receipt": receipt})
