"""A funder's budget from the profile page: setting it, its live panel (sending the browser that set it
to the wallet once, when the consent link is ready), revoking it, and the wallet's finish redirect.

As for a payment (`jobs.views.callback`), no network call happens here: a verified consent only moves the
budget to `authorized` and enqueues the grant continuation; the redirect target is always our own profile.
The panel reads the budget through `BudgetPanel`, which lets no token, nonce or continuation URI through.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import SessionBase
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from jobs import services
from jobs.forms import BudgetForm, ProfileForm
from jobs.http import AuthenticatedRequest
from jobs.models import Budget, Profile
from jobs.money import Money
from jobs.presenters import is_web_link, qr_svg
from worker import tasks

logger = logging.getLogger(__name__)


@require_GET
def budget_finish(request: HttpRequest, budget_id: uuid.UUID) -> HttpResponse:
    """Applies `?hash=…&interact_ref=…` or `?result=…` to the budget named in the path."""
    budget = Budget.objects.filter(pk=budget_id).first()
    if budget is None or (request.user.is_authenticated and request.user.pk != budget.funder_id):
        logger.warning("budget finish refused budget_id=%s reason=unknown_budget", budget_id)
        raise Http404("No such budget.")
    by_funder = request.user.is_authenticated
    try:
        status = services.budget_finish(
            budget=budget,
            received_hash=request.GET.get("hash", ""),
            interact_ref=request.GET.get("interact_ref", ""),
            result=request.GET.get("result", ""),
            by_funder=by_funder,
        )
    except services.FinishRefused as refusal:
        logger.warning("budget finish refused budget_id=%s reason=%s", budget.pk, refusal.reason)
        return render(
            request, "jobs/finish_problem.html", {"message": str(refusal), "job_id": None}, status=400
        )
    logger.info("budget finish budget_id=%s status=%s", budget.pk, status)
    if status == Budget.Status.AUTHORIZED:
        tasks.continue_budget_grant.delay_on_commit(str(budget.pk))
        messages.success(request, "Budget approved in your wallet. Activating it…")
    elif status == Budget.Status.ENDED:
        tasks.revoke_budget.delay_on_commit(str(budget.pk))
        budget.refresh_from_db(fields=["end_reason"])
        messages.warning(request, budget.end_reason)
    return redirect("profile")


# --- The budget panel on the profile page ----------------------------------------------------------

B = Budget.Status
# How often the panel asks again while a wallet or a worker works; an ended budget is not polled.
POLL_SECONDS: dict[str, int] = {B.PREPARING: 2, B.AWAITING: 5, B.AUTHORIZED: 2}
# While the wallet has not said yet what a budget activated in the last SPENT_POLL_FOR spent.
SPENT_POLL_SECONDS = 5
SPENT_POLL_FOR = timedelta(minutes=2)
# Opening the profile asks the wallet again (through a worker) once the last figure is this old.
SPENT_FRESH = timedelta(seconds=60)
ENDED = "This budget ended."
SESSION_KEY = "jobs.budget_just_set"
PERIODS: dict[str, str] = {Budget.Interval.MONTH: "this month", Budget.Interval.WEEK: "this week"}


@dataclass(frozen=True)
class BudgetPanel:
    """A funder's budget as their profile shows it. The budget is kept in `_budget`, which templates
    cannot read: only what a property here lets through is shown (never a token, nonce or continue URI)."""

    _budget: Budget

    @property
    def budget_id(self) -> str:
        return str(self._budget.pk)

    @property
    def state(self) -> str:
        return self._budget.status

    @property
    def poll_seconds(self) -> int | None:
        budget = self._budget
        if self.state == B.ACTIVE:
            # Just activated: the worker is asking the wallet what it spent; show the figure once it has.
            recent = (
                budget.authorized_at is not None and budget.authorized_at > timezone.now() - SPENT_POLL_FOR
            )
            return SPENT_POLL_SECONDS if budget.spent_value is None and recent else None
        return POLL_SECONDS.get(self.state)

    def _money(self, value: int) -> Money:
        return Money(value, self._budget.asset_code, self._budget.asset_scale)

    @property
    def amount(self) -> Money:
        return self._money(self._budget.amount_value)

    @property
    def interval_label(self) -> str:
        """ "per month", "per week" or "in total"."""
        return str(Budget.Interval(self._budget.interval).label)

    @property
    def period(self) -> str:
        """The window the wallet counts spending in: "this month", "this week" or "so far"."""
        return PERIODS.get(self._budget.interval, "so far")

    @property
    def per_job_limit(self) -> Money:
        return self._money(self._budget.per_job_limit)

    @property
    def covers_whole_budget(self) -> bool:
        """Any job up to the whole budget is paid at once (no separate per-job ceiling)."""
        return self._budget.per_job_limit >= self._budget.amount_value

    @property
    def spent(self) -> Money | None:
        """What the wallet last said is spent in the current interval; None until it said."""
        value = self._budget.spent_value
        return None if value is None else self._money(value)

    @property
    def left(self) -> Money | None:
        value = self._budget.spent_value
        return None if value is None else self._money(max(0, self._budget.amount_value - value))

    @property
    def spent_checked_at(self) -> datetime | None:
        return self._budget.spent_checked_at

    @property
    def consent_url(self) -> str:
        """The wallet's consent link, while it can be used."""
        link = self._budget.consent_url
        if self.state != B.AWAITING or self.link_expired or not is_web_link(link):
            return ""
        return link

    @property
    def link_expired(self) -> bool:
        """The link's time is up but the reconciler has not ended the budget yet."""
        expires = self._budget.consent_expires_at
        return self.state == B.AWAITING and expires is not None and expires <= timezone.now()

    @property
    def consent_expires_at(self) -> datetime | None:
        return self._budget.consent_expires_at if self.state == B.AWAITING else None

    @property
    def consent_host(self) -> str:
        """Where the link leads, shown before the funder leaves our site."""
        return urlsplit(self.consent_url).netloc

    @property
    def consent_qr(self) -> SafeString:
        url = self.consent_url
        return qr_svg(url, title="QR code of the budget link") if url else mark_safe("")

    @property
    def end_reason(self) -> str:
        return (self._budget.end_reason or ENDED) if self.state == B.ENDED else ""

    @property
    def ended_at(self) -> datetime | None:
        return self._budget.ended_at

    @property
    def can_revoke(self) -> bool:
        return self.state != B.ENDED

    @property
    def look(self) -> str:
        """The panel's CSS state class (colours shared with the payment panel)."""
        looks: dict[str, str] = {B.ACTIVE: "succeeded", B.ENDED: "none"}
        return looks.get(self.state, self.state)


def take_redirect(session: SessionBase, budget: Budget) -> bool:
    """True (once) when this browser set `budget` and its consent link is ready."""
    if session.get(SESSION_KEY) != str(budget.pk) or not BudgetPanel(budget).consent_url:
        return False
    del session[SESSION_KEY]
    return True


def budget_section(
    user: User, profile: Profile, *, form: BudgetForm | None = None, refresh: bool = False
) -> dict[str, Any]:
    """The profile page's budget context for `user`: their latest budget's panel, and the form to set one
    while none is live. `refresh`: ask the wallet (through a worker) what an active budget spent, when
    the last figure is stale."""
    if not profile.is_funder:
        return {"budget_shown": False}
    budget = Budget.objects.filter(funder=user).first()
    stale = budget is not None and (
        budget.spent_checked_at is None or budget.spent_checked_at < timezone.now() - SPENT_FRESH
    )
    if refresh and budget is not None and budget.status == B.ACTIVE and stale:
        tasks.refresh_budget_spent.delay_on_commit(str(budget.pk))
    settable = budget is None or budget.status == B.ENDED
    if settable and form is None and profile.has_wallet and profile.asset_scale is not None:
        form = BudgetForm(asset_code=profile.asset_code, asset_scale=profile.asset_scale)
    return {
        "budget_shown": True,
        "budget": BudgetPanel(budget) if budget is not None else None,
        "budget_form": form if settable else None,
        "has_wallet": profile.has_wallet,
    }


def own_budget(request: AuthenticatedRequest, budget_id: uuid.UUID) -> Budget:
    """The user's own budget; anyone else's does not exist to them."""
    budget = Budget.objects.filter(pk=budget_id, funder=request.user).first()
    if budget is None:
        raise Http404("No such budget.")
    return budget


@login_required
@require_POST
def budget_create(request: AuthenticatedRequest) -> HttpResponse:
    """Sets the funder's budget and asks a worker for its consent link; this browser goes to the wallet
    once the link is ready. Bad input shows the form again with the reasons, a refusal the profile with
    it; nothing is set."""
    profile = services.profile_get_or_create(request.user)
    if not profile.is_funder or not profile.has_wallet or profile.asset_scale is None:
        messages.error(request, services.BUDGET_NO_WALLET if profile.is_funder else services.NOT_A_FUNDER)
        return redirect("profile")
    form = BudgetForm(request.POST, asset_code=profile.asset_code, asset_scale=profile.asset_scale)
    if form.is_valid():
        try:
            budget = services.budget_create(funder=request.user, **form.budget_fields())
        except services.ActionRefused as refusal:
            # Not about what was typed (a budget is live already, …): the profile says so above it.
            messages.error(request, str(refusal))
            return redirect("profile")
        tasks.request_budget_grant.delay_on_commit(str(budget.pk))
        request.session[SESSION_KEY] = str(budget.pk)
        messages.success(request, "Budget set. Preparing the link to your wallet…")
        return redirect("profile")
    if Budget.objects.filter(funder=request.user).exclude(status=B.ENDED).exists():
        messages.error(request, services.BUDGET_LIVE)  # the page the form came from is out of date
        return redirect("profile")
    context = {
        "form": ProfileForm(profile=profile),
        "profile": profile,
        **budget_section(request.user, profile, form=form),
    }
    return render(request, "jobs/profile.html", context)


@login_required
@require_GET
def budget_panel(request: AuthenticatedRequest, budget_id: uuid.UUID) -> HttpResponse:
    """The budget panel alone, for htmx polling; sends the browser that set it to the wallet once, when
    the consent link is ready."""
    budget = own_budget(request, budget_id)
    if request.htmx and take_redirect(request.session, budget):
        return HttpResponseClientRedirect(budget.consent_url)
    # The first poll that finds the budget active asks the wallet what it spent (once per activation).
    refresh = request.GET.get("was") != B.ACTIVE
    context = budget_section(request.user, services.profile_get_or_create(request.user), refresh=refresh)
    if context.get("budget") is None or context["budget"].budget_id != str(budget.pk):
        # A newer budget replaced this one: the panel shows the budget asked for, ended.
        context["budget"], context["budget_form"] = BudgetPanel(budget), None
    return render(request, "jobs/_budget_panel.html", context)


@login_required
@require_POST
def budget_revoke(request: AuthenticatedRequest, budget_id: uuid.UUID) -> HttpResponse:
    """The funder ends their budget (or the link they have not used); its grant is revoked at the wallet
    after commit. A second click changes nothing."""
    budget = own_budget(request, budget_id)
    if services.budget_revoke(budget_id=budget.pk, funder=request.user):
        tasks.revoke_budget.delay_on_commit(str(budget.pk))
        if request.session.get(SESSION_KEY) == str(budget.pk):
            del request.session[SESSION_KEY]
        messages.success(request, "Budget revoked. Nothing more will be paid from it.")
    else:
        messages.info(request, "This budget had already ended.")
    return redirect("profile")
