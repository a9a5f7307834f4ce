"""Refunds from a job's page: the funder asks for money back, the paid provider offers it, agrees, declines
or gets a new link, the funder withdraws an unanswered request; the refunds section htmx polls; and the
page of refunds waiting for a provider.

Anyone but the job's funder and the provider it paid gets a 404 for every refund URL: a stranger must not
learn that a job, a payment or a refund exists.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from jobs import one_click, presenters, selectors, services
from jobs.http import AuthenticatedRequest
from jobs.models import Job, PaymentAttempt, Refund
from jobs.views.jobs import job_page, refund_form_for, refunds_panel_for
from worker import tasks

NO_SUCH_REFUND = "No such refund."


def _party(request: AuthenticatedRequest, job_id: int) -> tuple[Job, PaymentAttempt | None]:
    """The job and the payment that paid it, if the user is its funder or the provider it paid; else 404."""
    job = get_object_or_404(Job, pk=job_id)
    paid = selectors.job_paid_attempt(job)
    provider_id = paid.quote.provider_id if paid else None
    if request.user.pk not in (job.funder_id, provider_id):
        raise Http404("No such job.")
    return job, paid


def _asked(
    request: AuthenticatedRequest, job: Job, paid: PaymentAttempt | None, *, offer: bool
) -> tuple[int | None, str] | HttpResponse:
    """The amount (None: everything left) and reason the form sent, or the job page again with the form's
    errors; on an unpaid job nothing is read, and the service says why nothing can be refunded."""
    if paid is None:
        return None, ""
    form = refund_form_for(job, paid, offer=offer, data=request.POST)
    if not form.is_valid():
        return job_page(request, job, refund_form=form)
    return form.cleaned_data["amount"], form.cleaned_data["reason"]


@login_required
@require_POST
def refund_request(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """The funder asks for money back (the amount left blank: everything still refundable)."""
    job, paid = _party(request, job_id)
    asked = _asked(request, job, paid, offer=False)
    if isinstance(asked, HttpResponse):
        return asked
    amount, reason = asked
    try:
        services.refund_request(job_id=job.pk, funder=request.user, amount=amount, reason=reason)
    except Job.DoesNotExist:
        raise Http404("No such job.") from None
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Refund requested. The provider answers here, and you will see it.")
    return redirect("job-detail", job_id=job.pk)


@login_required
@require_POST
def refund_offer(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """The paid provider sends money back on their own initiative: the refund link is prepared at once."""
    job, paid = _party(request, job_id)
    asked = _asked(request, job, paid, offer=True)
    if isinstance(asked, HttpResponse):
        return asked
    amount, reason = asked
    try:
        approval = services.refund_offer(job_id=job.pk, provider=request.user, amount=amount, reason=reason)
    except Job.DoesNotExist:
        raise Http404("No such job.") from None
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("job-detail", job_id=job.pk)
    tasks.generate_link.delay_on_commit(str(approval.attempt.pk))
    one_click.remember(request.session, approval.attempt)
    messages.success(request, "Refund started. Preparing the refund link at your wallet…")
    return redirect("job-detail", job_id=job.pk)


def _refund_job_id(refund_id: int) -> int:
    job_id = Refund.objects.filter(pk=refund_id).values_list("job_id", flat=True).first()
    if job_id is None:
        raise Http404(NO_SUCH_REFUND)
    return job_id


@login_required
@require_POST
def refund_agree(request: AuthenticatedRequest, refund_id: int) -> HttpResponse:
    """The provider agrees to a requested refund, or gets a new link for an agreed one whose last link
    ended unpaid; the link is prepared at their wallet (once, however often they click)."""
    job_id = _refund_job_id(refund_id)
    try:
        approval = services.refund_agree(refund_id=refund_id, provider=request.user)
    except Refund.DoesNotExist:
        raise Http404(NO_SUCH_REFUND) from None
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("job-detail", job_id=job_id)
    if approval.created:
        tasks.generate_link.delay_on_commit(str(approval.attempt.pk))
        messages.success(request, "Refund agreed. Preparing the refund link at your wallet…")
    else:
        messages.info(request, services.REFUND_IN_PROGRESS)
    one_click.remember(request.session, approval.attempt)
    return redirect("job-detail", job_id=job_id)


@login_required
@require_POST
def refund_decline(request: AuthenticatedRequest, refund_id: int) -> HttpResponse:
    """The provider declines a refund, with a reason the funder reads."""
    job_id = _refund_job_id(refund_id)
    reason = request.POST.get("reason", "")
    try:
        services.refund_decline(refund_id=refund_id, provider=request.user, reason=reason)
    except Refund.DoesNotExist:
        raise Http404(NO_SUCH_REFUND) from None
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Refund declined. The funder sees your reason.")
    return redirect("job-detail", job_id=job_id)


@login_required
@require_POST
def refund_cancel(request: AuthenticatedRequest, refund_id: int) -> HttpResponse:
    """The funder withdraws a refund request the provider has not answered."""
    job_id = _refund_job_id(refund_id)
    try:
        services.refund_cancel(refund_id=refund_id, funder=request.user)
    except Refund.DoesNotExist:
        raise Http404(NO_SUCH_REFUND) from None
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Refund request withdrawn.")
    return redirect("job-detail", job_id=job_id)


def _just_agreed(request: AuthenticatedRequest, job: Job) -> PaymentAttempt | None:
    """The refund attempt of this job this browser just started (agree, offer, new link), if any."""
    try:
        attempt_id = uuid.UUID(str(request.session.get(one_click.SESSION_KEY, "")))
    except ValueError:
        return None
    attempt = selectors.attempt_get(attempt_id)
    if attempt is None or attempt.job_id != job.pk or not attempt.is_refund:
        return None
    return attempt


@login_required
@require_GET
def refunds_panel(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """The refunds list alone, for htmx polling: with the header's badge, and when anything changed since
    `?shown=`, the history and a line for screen readers; sends the provider who agreed to their wallet
    once, when the link is ready."""
    job = get_object_or_404(Job, pk=job_id)
    viewer = selectors.job_payment_viewer(job, request.user)
    panel = refunds_panel_for(job, viewer) if viewer else None
    if viewer is None or panel is None:
        raise Http404("No such job.")
    agreed = _just_agreed(request, job) if request.htmx else None
    if agreed is not None and one_click.take(request.session, agreed):
        return HttpResponseClientRedirect(agreed.payment_url)
    changed = request.GET.get("shown") != panel.signature
    context: dict[str, object] = {"refunds": panel, "changed": changed}
    if changed:
        context["attempts"] = [
            presenters.AttemptRow(a, viewer) for a in selectors.job_attempts_for(job, viewer)
        ]
    return render(request, "jobs/_refund_panel.html", context)


@login_required
@require_GET
def refunds_waiting(request: AuthenticatedRequest) -> HttpResponse:
    """Refunds waiting for the provider: asked for and not answered, or agreed with their wallet's consent
    (or a new link) still to come."""
    attempts = Prefetch("attempts", queryset=PaymentAttempt.objects.order_by("-created_at"))
    refunds = selectors.refunds_waiting_for(request.user).prefetch_related(attempts)
    cards = [
        presenters.RefundCard(
            refund,
            selectors.PaymentViewer(
                request.user.pk,
                is_funder=False,
                sees_details=False,
                quote_ids=frozenset({refund.payment.quote_id}),
            ),
        )
        for refund in refunds
    ]
    return render(
        request,
        "jobs/refunds_waiting.html",
        {
            "to_do": [card for card in cards if card.waits_for_viewer],
            "moving": [card for card in cards if not card.waits_for_viewer],
        },
    )
