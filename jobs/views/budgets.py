"""A funder's budget from the profile page: the wallet's finish redirect after consenting to it.

As for a payment (`jobs.views.callback`), no network call happens here: a verified consent only moves the
budget to `authorized` and enqueues the grant continuation; the redirect target is always our own profile.
"""

from __future__ import annotations

import logging
import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from jobs import services
from jobs.models import Budget
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
