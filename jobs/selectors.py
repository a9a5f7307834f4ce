"""Reads for the web layer, named `<entity>_<what>`: what a user may see of jobs, quotes and payment
attempts (writes are in `jobs.services`)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import TypedDict

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django_stubs_ext import WithAnnotations

from jobs.models import LIVE_STATUSES, AttemptKind, AttemptStatus, Job, PaymentAttempt, Quote, Refund
from jobs.money import Money


class JobListed(TypedDict):
    latest_attempt_status: str | None
    quote_count: int


# The job list's tabs besides "all": which jobs each shows (`job_list`).
JOB_TABS = ("open", "awaiting", "paid", "mine")


def job_list(
    *, tab: str = "all", search: str = "", user: AbstractBaseUser | None = None
) -> QuerySet[WithAnnotations[Job, JobListed]]:
    """Jobs newest first, each with the status of its newest payment attempt (`latest_attempt_status`)
    and its number of quotes (`quote_count`).

    `tab` keeps the open jobs with no payment under way ("open"), those with one ("awaiting"), the paid
    ones ("paid") or those `user` posted or quoted on ("mine"); any other value keeps every job. `search`
    keeps the jobs whose title or description holds it, in any case."""
    newest = (
        PaymentAttempt.objects.filter(job=OuterRef("pk"), kind=AttemptKind.PAYMENT)
        .order_by("-created_at")
        .values("status")[:1]
    )
    quotes = Quote.objects.filter(job=OuterRef("pk")).order_by().values("job").annotate(n=Count("pk"))
    jobs = Job.objects.select_related("funder").annotate(
        latest_attempt_status=Subquery(newest),
        quote_count=Coalesce(Subquery(quotes.values("n")), 0),
    )
    if search:
        jobs = jobs.filter(Q(title__icontains=search) | Q(description__icontains=search))
    paying = Q(latest_attempt_status__in=LIVE_STATUSES)
    if tab == "open":
        return jobs.filter(Q(latest_attempt_status__isnull=True) | ~paying, status=Job.Status.OPEN)
    if tab == "awaiting":
        return jobs.filter(paying, status=Job.Status.OPEN)
    if tab == "paid":
        return jobs.filter(status=Job.Status.PAID)
    if tab == "mine":
        if user is None:
            return jobs.none()
        quoted = Exists(Quote.objects.filter(job=OuterRef("pk"), provider_id=user.pk))
        return jobs.filter(Q(funder_id=user.pk) | quoted)
    return jobs


def job_lowest_quotes(job_ids: Collection[int]) -> dict[int, list[Money]]:
    """The lowest quote on each of these jobs in each asset it was quoted in (by asset code); jobs without
    a quote are left out. One query, none for no job."""
    if not job_ids:
        return {}
    lowest = (
        Quote.objects.filter(job_id__in=job_ids)
        .values("job_id", "asset_code", "asset_scale")
        .annotate(value=Min("amount_value"))
        .order_by("job_id", "asset_code", "asset_scale")
    )
    prices: dict[int, list[Money]] = {}
    for row in lowest:
        prices.setdefault(row["job_id"], []).append(
            Money(row["value"], row["asset_code"], row["asset_scale"])
        )
    return prices


def job_follows_payment(job: Job, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether `user` may follow the job's payment: its funder, or a provider who quoted on it."""
    if not user.is_authenticated:
        return False
    return job.funder_id == user.pk or job.quotes.filter(provider_id=user.pk).exists()


@dataclass(frozen=True)
class PaymentViewer:
    """Someone who may follow a job's payment, and how much of it they may see.

    The funder and staff see every attempt in full (ids, wallet records); a provider who quoted sees
    only the attempts that pay one of their quotes, and of those only what they receive.
    """

    user_id: int
    is_funder: bool
    sees_details: bool
    quote_ids: frozenset[int] = frozenset()

    def is_paid_by(self, attempt: PaymentAttempt) -> bool:
        """Whether `attempt` pays one of the viewer's own quotes."""
        return attempt.quote_id in self.quote_ids


def job_payment_viewer(job: Job, user: User) -> PaymentViewer | None:
    """How `user` may follow the job's payment: as its funder, as staff who may read payment attempts, as
    a provider who quoted on it; None when they may not follow it at all."""
    if not user.is_authenticated:
        return None
    if job.funder_id == user.pk:
        return PaymentViewer(user.pk, is_funder=True, sees_details=True)
    if user.is_staff and user.has_perm("jobs.view_paymentattempt"):
        return PaymentViewer(user.pk, is_funder=False, sees_details=True)
    quote_ids = frozenset(job.quotes.filter(provider_id=user.pk).values_list("pk", flat=True))
    if not quote_ids:
        return None
    return PaymentViewer(user.pk, is_funder=False, sees_details=False, quote_ids=quote_ids)


def job_quotes_for(job: Job, user: AbstractBaseUser) -> QuerySet[Quote]:
    """The quotes on the job that `user` may see: all of them for the funder, their own for a provider."""
    quotes = job.quotes.select_related("provider")
    return quotes if job.funder_id == user.pk else quotes.filter(provider_id=user.pk)


def job_attempts_for(job: Job, viewer: PaymentViewer) -> QuerySet[PaymentAttempt]:
    """The job's attempts `viewer` may see, payments and refunds in one timeline, newest first: all of
    them for the funder and staff; for a provider, the refunds they pay back and the payments of their
    own quotes that paid or are under way (how the funder's other attempts ended is the funder's)."""
    attempts = job.attempts.select_related("quote", "refund").order_by("-created_at")
    if viewer.sees_details:
        return attempts
    shown = Q(kind=AttemptKind.REFUND) | Q(status__in=[*LIVE_STATUSES, AttemptStatus.SUCCEEDED])
    return attempts.filter(shown, quote_id__in=viewer.quote_ids)


def attempt_get(attempt_id: uuid.UUID) -> PaymentAttempt | None:
    """The attempt with its job, quote and refund (for a refund's), or None."""
    return PaymentAttempt.objects.select_related("job", "quote", "refund").filter(pk=attempt_id).first()


def job_live_attempt(job: Job) -> PaymentAttempt | None:
    """The job's payment attempt that is still in progress, if any."""
    return job.attempts.filter(status__in=LIVE_STATUSES, kind=AttemptKind.PAYMENT).first()


def job_latest_attempt(job: Job) -> PaymentAttempt | None:
    """The job's newest payment attempt, whatever its status."""
    return job.attempts.filter(kind=AttemptKind.PAYMENT).order_by("-created_at").first()


def job_paid_attempt(job: Job) -> PaymentAttempt | None:
    """The attempt that paid the job, if one did."""
    return job.attempts.filter(status=AttemptStatus.SUCCEEDED, kind=AttemptKind.PAYMENT).first()


def job_refunds(job: Job) -> QuerySet[Refund]:
    """The job's refunds, newest first, each with its attempts (newest first) prefetched."""
    attempts = Prefetch("attempts", queryset=PaymentAttempt.objects.order_by("-created_at"))
    return job.refunds.select_related("payment__quote", "requested_by").prefetch_related(attempts)


def refunds_waiting_for(provider: User) -> QuerySet[Refund]:
    """Refunds waiting for `provider`: asked for and not yet answered, or agreed with the provider's
    consent in their wallet still to come (or a new link to get); oldest first."""
    open_statuses = [Refund.Status.REQUESTED, Refund.Status.AGREED]
    return (
        Refund.objects.filter(payment__quote__provider=provider, status__in=open_statuses)
        .select_related("job", "payment__quote")
        .order_by("created_at", "id")
    )
