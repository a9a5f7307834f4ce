"""Reads for the web layer, named `<entity>_<what>`: what a user may see of jobs, quotes and payment
attempts (writes are in `jobs.services`)."""

from __future__ import annotations

import uuid
from typing import TypedDict

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import OuterRef, QuerySet, Subquery
from django_stubs_ext import WithAnnotations

from jobs.models import LIVE_STATUSES, AttemptStatus, Job, PaymentAttempt, Quote


class LatestAttemptStatus(TypedDict):
    latest_attempt_status: str | None


def job_list() -> QuerySet[WithAnnotations[Job, LatestAttemptStatus]]:
    """Every job, newest first, each with the status of its newest attempt as `latest_attempt_status`."""
    newest = PaymentAttempt.objects.filter(job=OuterRef("pk")).order_by("-created_at").values("status")[:1]
    return Job.objects.select_related("funder").annotate(latest_attempt_status=Subquery(newest))


def job_follows_payment(job: Job, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether `user` may follow the job's payment: its funder, or a provider who quoted on it."""
    if not user.is_authenticated:
        return False
    return job.funder_id == user.pk or job.quotes.filter(provider_id=user.pk).exists()


def job_quotes_for(job: Job, user: AbstractBaseUser) -> QuerySet[Quote]:
    """The quotes on the job that `user` may see: all of them for the funder, their own for a provider."""
    quotes = job.quotes.select_related("provider")
    return quotes if job.funder_id == user.pk else quotes.filter(provider_id=user.pk)


def job_attempts(job: Job) -> QuerySet[PaymentAttempt]:
    """The job's payment attempts, newest first."""
    return job.attempts.select_related("quote").order_by("-created_at")


def attempt_get(attempt_id: uuid.UUID) -> PaymentAttempt | None:
    """The attempt with its job and quote, or None."""
    return PaymentAttempt.objects.select_related("job", "quote").filter(pk=attempt_id).first()


def job_live_attempt(job: Job) -> PaymentAttempt | None:
    """The job's attempt that is still in progress, if any."""
    return job.attempts.filter(status__in=LIVE_STATUSES).first()


def job_latest_attempt(job: Job) -> PaymentAttempt | None:
    """The job's newest attempt, whatever its status."""
    return job.attempts.order_by("-created_at").first()


def job_paid_attempt(job: Job) -> PaymentAttempt | None:
    """The attempt that paid the job, if one did."""
    return job.attempts.filter(status=AttemptStatus.SUCCEEDED).first()
