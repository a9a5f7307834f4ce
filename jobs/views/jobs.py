"""The landing page, the job list, a job's page, posting jobs and quoting on them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_stubs_ext import WithAnnotations

from jobs import presenters, selectors, services
from jobs.forms import JobForm, QuoteForm, RefundForm
from jobs.http import AuthenticatedRequest
from jobs.models import AttemptKind, AttemptStatus, Job, PaymentAttempt
from jobs.money import Money
from jobs.selectors import JobListed, PaymentViewer


def home(request: HttpRequest) -> HttpResponse:
    """The landing page; people who are logged in go straight to the jobs."""
    if request.user.is_authenticated:
        return redirect("job-list")
    return render(request, "jobs/home.html")


JOBS_PER_PAGE = 20
SEARCH_MAX_LENGTH = 200


@dataclass(frozen=True)
class JobTab:
    """A tab of the job list: its `key` (the `tab` parameter), what it is called, what it says when it
    has no job, and what its jobs are called in "No … match "logo"."."""

    key: str
    label: str
    empty: str
    noun: str


JOB_TABS = (
    JobTab("all", "All", "No jobs yet.", "jobs"),
    JobTab("open", "Open", "No open jobs right now.", "open jobs"),
    JobTab("awaiting", "Awaiting payment", "No jobs are awaiting payment.", "jobs awaiting payment"),
    JobTab("paid", "Paid", "No paid jobs yet.", "paid jobs"),
    JobTab("mine", "Mine", "You have not posted or quoted on a job yet.", "jobs of yours"),
)


@dataclass(frozen=True)
class JobRow:
    """One job of the list, with the texts its row shows beside the job's own fields."""

    job: Job
    badge: presenters.Badge
    price: str
    quotes: str
    budget: str


@login_required
def job_list(request: AuthenticatedRequest) -> HttpResponse:
    """The jobs of a tab matching the search, a page at a time, each with its price, quotes and badge."""
    tab = next((t for t in JOB_TABS if t.key == request.GET.get("tab")), JOB_TABS[0])
    # PostgreSQL refuses a NUL in a query's text: it is never part of a title anyway.
    search = request.GET.get("q", "").replace("\x00", "").strip()[:SEARCH_MAX_LENGTH]
    listed = selectors.job_list(tab=tab.key, search=search, user=request.user)
    paginator = Paginator(listed, JOBS_PER_PAGE)
    page = paginator.page(_page_number(request.GET.get("page"), paginator.num_pages))
    context = {
        "profile": services.profile_get_or_create(request.user),
        "tab": tab,
        "tabs": [(t, _list_url(t.key, search), t == tab) for t in JOB_TABS],
        "q": search,
        "rows": _job_rows(list(page)),
        "page": page,
        "previous_url": _list_url(tab.key, search, page.number - 1) if page.has_previous() else "",
        "next_url": _list_url(tab.key, search, page.number + 1) if page.has_next() else "",
    }
    return render(request, "jobs/job_list.html", context)


def _page_number(text: str | None, last: int) -> int:
    """The page asked for; the nearest one when it is out of range, the first when `text` is no number."""
    try:
        wanted = int(text or 1)
    except ValueError:
        wanted = 1
    return min(max(wanted, 1), last)


def _list_url(tab: str, search: str, page: int = 1) -> str:
    """The job list's address for a tab, a search and a page, naming only what is not the default."""
    params = {"tab": tab if tab != "all" else "", "q": search, "page": str(page) if page > 1 else ""}
    query = urlencode({name: value for name, value in params.items() if value})
    return reverse("job-list") + (f"?{query}" if query else "")


def _job_rows(jobs: list[WithAnnotations[Job, JobListed]]) -> list[JobRow]:
    """The rows of these jobs, in at most two queries whatever their number."""
    prices = selectors.job_lowest_quotes([job.pk for job in jobs])
    assets = _refund_assets([job.pk for job in jobs if job.refunded_amount > 0])
    rows = []
    for job in jobs:
        refunded = presenters.refund_badge(job, *assets[job.pk]) if job.pk in assets else None
        lowest = prices.get(job.pk)
        budget = _budget(job)
        rows.append(
            JobRow(
                job=job,
                badge=refunded or presenters.job_badge(job.status, job.latest_attempt_status),
                price="from " + " or ".join(map(str, lowest)) if lowest else "No quotes yet",
                quotes=_quote_count(job.quote_count),
                budget=f"Budget {budget}" if budget else "",
            )
        )
    return rows


def _budget(job: Job) -> Money | None:
    """The job's budget, if its funder set one."""
    code, scale = job.budget_asset_code, job.budget_asset_scale
    if job.budget_value is None or code is None or scale is None:
        return None
    return Money(job.budget_value, code, scale)


def _quote_count(count: int) -> str:
    """ "1 quote", "3 quotes"; nothing for none (the price says "No quotes yet")."""
    if not count:
        return ""
    return "1 quote" if count == 1 else f"{count} quotes"


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
    """A funder posts a job; anyone else learns how to become one (and a job they send is not posted)."""
    profile = services.profile_get_or_create(request.user)
    if not profile.is_funder:
        refused = request.method == "POST"
        context = {"refusal": f"{services.NOT_A_FUNDER} Nothing was posted." if refused else ""}
        return render(request, "jobs/job_form.html", context, status=403 if refused else 200)
    asset_scale = profile.asset_scale if profile.has_wallet else None
    form = JobForm(request.POST or None, asset_code=profile.asset_code, asset_scale=asset_scale)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.job_create(
                funder=request.user,
                title=data["title"],
                description=data["description"],
                budget_value=data["budget"],
                deadline=data["deadline"],
            )
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
    return RefundForm(
        data,
        asset_code=quote.asset_code,
        asset_scale=quote.asset_scale,
        remaining=max(services.refund_remaining(job), 0),
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
