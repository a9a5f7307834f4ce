"""The landing page, the job list, a job's page, posting jobs and quoting on them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from jobs import presenters, selectors, services
from jobs.forms import JobForm, QuoteForm, RefundForm
from jobs.http import AuthenticatedRequest
from jobs.models import AttemptKind, AttemptStatus, Job, PaymentAttempt
from jobs.money import format_amount
from jobs.selectors import PaymentViewer


def home(request: HttpRequest) -> HttpResponse:
    """The landing page; people who are logged in go straight to the jobs."""
    if request.user.is_authenticated:
        return redirect("job-list")
    return render(request, "jobs/home.html")


@login_required
def job_list(request: AuthenticatedRequest) -> HttpResponse:
    """Every job with its status badge."""
    listed = list(selectors.job_list())
    assets = _refund_assets([job.pk for job in listed if job.refunded_amount > 0])
    jobs = []
    for job in listed:
        refunded = presenters.refund_badge(job, *assets[job.pk]) if job.pk in assets else None
        jobs.append((job, refunded or presenters.job_badge(job.status, job.latest_attempt_status)))
    profile = services.profile_get_or_create(request.user)
    return render(request, "jobs/job_list.html", {"jobs": jobs, "profile": profile})


def _refund_assets(job_ids: list[int]) -> dict[int, tuple[str, int]]:
    """The asset each of these paid jobs was paid (and is refunded) in; no query for none."""
    if not job_ids:
        return {}
    paid = PaymentAttempt.objects.filter(
        job_id__in=job_ids, kind=AttemptKind.PAYMENT, status=AttemptStatus.SUCCEEDED
    ).values_list("job_id", "quote__asset_code", "quote__asset_scale")
    return {job_id: (code, scale) for job_id, code, scale in paid}


@login_required
def job_create(request: AuthenticatedRequest) -> HttpResponse:
    """A funder posts a job."""
    form = JobForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.job_create(funder=request.user, **form.cleaned_data)
        except services.ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "Job posted. Providers can now quote on it.")
            return redirect("job-detail", job_id=job.pk)
    return render(request, "jobs/job_form.html", {"form": form})


@login_required
def job_detail(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """A job, its quotes, and (for its funder and quoting providers) the payment panel and history."""
    job = get_object_or_404(Job, pk=job_id)
    return job_page(request, job)


@login_required
@require_POST
def quote_create(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """A provider prices a job in their wallet's asset."""
    job = get_object_or_404(Job, pk=job_id)
    form = _quote_form(request, job, data=request.POST)
    if form is None:
        messages.error(request, "Add your wallet address to your profile before quoting.")
        return redirect("job-detail", job_id=job.pk)
    if form.is_valid():
        try:
            services.quote_create(
                job=job,
                provider=request.user,
                amount_value=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
            )
        except services.ActionRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, "Quote sent to the funder.")
        return redirect("job-detail", job_id=job.pk)
    return job_page(request, job, quote_form=form)


def _quote_form(request: AuthenticatedRequest, job: Job, data: object = None) -> QuoteForm | None:
    """The quote form in the provider's wallet asset; None when they have no wallet to be paid in."""
    profile = services.profile_get_or_create(request.user)
    if not profile.is_provider or job.funder_id == request.user.pk or profile.asset_scale is None:
        return None
    return QuoteForm(data, asset_code=profile.asset_code, asset_scale=profile.asset_scale)


def job_page(
    request: AuthenticatedRequest,
    job: Job,
    *,
    quote_form: QuoteForm | None = None,
    refund_form: RefundForm | None = None,
) -> HttpResponse:
    """The job's page for the user; a bound form given shows what they typed and what was wrong with it."""
    attempt = selectors.job_latest_attempt(job)
    viewer = selectors.job_payment_viewer(job, request.user)
    is_funder = job.funder_id == request.user.pk
    refunds = refunds_panel_for(job, viewer) if viewer else None
    badge = presenters.job_badge(job.status, attempt.status if attempt else None)
    if refunds is not None:
        badge = refunds.job_badge
        party = refunds.viewer_is_funder or refunds.viewer_is_provider
        if refund_form is None and party and refunds.remaining.value > 0:
            refund_form = refund_form_for(job, refunds.paid, offer=not refunds.viewer_is_funder)
    if quote_form is None:
        quote_form = _quote_form(request, job)
    context = {
        "job": job,
        "badge": badge,
        "is_funder": is_funder,
        "profile": services.profile_get_or_create(request.user),
        "quotes": selectors.job_quotes_for(job, request.user),
        "quote_form": quote_form if job.status == Job.Status.OPEN else None,
        "live_quote_id": attempt.quote_id if is_funder and attempt and attempt.is_live else None,
        "panel": presenters.PaymentPanel(job, attempt, viewer) if viewer else None,
        "refunds": refunds,
        "refund_form": refund_form,
        "attempts": [presenters.AttemptRow(a, viewer) for a in selectors.job_attempts_for(job, viewer)]
        if viewer
        else [],
    }
    return render(request, "jobs/job_detail.html", context)


def refund_form_for(job: Job, paid: PaymentAttempt, *, offer: bool, data: object = None) -> RefundForm:
    """The funder's refund request form, or the provider's offer (`offer`), in the asset the provider was
    paid in, with what is left as the default."""
    quote = paid.quote
    left = format_amount(max(services.refund_remaining(job), 0), quote.asset_code, quote.asset_scale)
    return RefundForm(
        data,
        asset_code=quote.asset_code,
        asset_scale=quote.asset_scale,
        remaining=left,
        offer=offer,
        prefix="offer" if offer else "refund",
    )


def refunds_panel_for(job: Job, viewer: PaymentViewer) -> presenters.RefundsPanel | None:
    """The refunds section of a paid job for its funder, staff and the provider it paid; None for anyone
    else and on a job not paid."""
    paid = selectors.job_paid_attempt(job)
    if paid is None:
        return None
    if not (viewer.sees_details or viewer.user_id == paid.quote.provider_id):
        return None
    cards = [presenters.RefundCard(refund, viewer) for refund in selectors.job_refunds(job)]
    return presenters.RefundsPanel(job, paid, cards, viewer)
