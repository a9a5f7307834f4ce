"""What users do on the marketplace, as functions: views call these, nothing else writes."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from jobs.models import LIVE_STATUSES, AttemptStatus, Job, PaymentAttempt, Profile, Quote


class ActionRefused(Exception):
    """A request the marketplace refuses, with a message the user can act on."""


NOT_THE_FUNDER = "Only the funder of this job can approve its quotes."
JOB_PAID = "This job is already paid."
NO_FUNDER_WALLET = "Add your wallet address to your profile before paying."
NO_PROVIDER_WALLET = "The provider has no wallet address yet, so they cannot be paid."
NOT_A_PROVIDER = "Only providers can quote on jobs."
OWN_JOB = "You cannot quote on your own job."
NOT_A_FUNDER = "Only funders can post jobs."


def profile_for(user: AbstractBaseUser) -> Profile:
    """The user's profile, created empty the first time it is asked for."""
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def profile_update(
    *,
    user: AbstractBaseUser,
    is_funder: bool,
    is_provider: bool,
    wallet_address: str,
    wallet_id: str,
    asset_code: str,
    asset_scale: int | None,
) -> Profile:
    """Saves the user's roles and their resolved wallet."""
    profile = profile_for(user)
    profile.is_funder, profile.is_provider = is_funder, is_provider
    profile.wallet_address, profile.wallet_id = wallet_address, wallet_id
    profile.asset_code, profile.asset_scale = asset_code, asset_scale
    profile.save()
    return profile


def job_create(*, funder: AbstractBaseUser, title: str, description: str) -> Job:
    """Posts a job for `funder`."""
    if not profile_for(funder).is_funder:
        raise ActionRefused(NOT_A_FUNDER)
    return Job.objects.create(funder=funder, title=title, description=description)


def quote_create(*, job: Job, provider: AbstractBaseUser, amount_value: int, note: str) -> Quote:
    """Records a provider's price for a job, in the asset of the provider's wallet."""
    profile = profile_for(provider)
    if not profile.is_provider:
        raise ActionRefused(NOT_A_PROVIDER)
    if job.funder_id == provider.pk:
        raise ActionRefused(OWN_JOB)
    if not profile.has_wallet or profile.asset_scale is None:
        raise ActionRefused("Add your wallet address to your profile before quoting.")
    if job.status == Job.Status.PAID:
        raise ActionRefused(JOB_PAID)
    return Quote.objects.create(
        job=job,
        provider=provider,
        amount_value=amount_value,
        asset_code=profile.asset_code,
        asset_scale=profile.asset_scale,
        note=note,
    )


@dataclass(frozen=True)
class Approval:
    """The attempt an approval answers with, and whether this call created it."""

    attempt: PaymentAttempt
    created: bool


def job_quote_approve(*, job_id: int, quote_id: int, funder: AbstractBaseUser) -> Approval:
    """Starts paying `quote` on `job`: creates the attempt in `generating`, or answers the live one.

    A second click, a second tab or a replayed POST gets the attempt that is already live; the database
    allows only one, so even simultaneous requests cannot create two.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        quote = Quote.objects.select_related("provider").get(pk=quote_id, job=job)
        if job.funder_id != funder.pk:
            raise ActionRefused(NOT_THE_FUNDER)
        live = live_attempt(job)
        if live is not None:
            return Approval(live, created=False)
        if job.status == Job.Status.PAID:
            raise ActionRefused(JOB_PAID)
        sender, receiver = profile_for(funder), profile_for(quote.provider)
        if not sender.has_wallet:
            raise ActionRefused(NO_FUNDER_WALLET)
        if not receiver.has_wallet:
            raise ActionRefused(NO_PROVIDER_WALLET)
        try:
            with transaction.atomic():
                attempt = PaymentAttempt.objects.create(
                    job=job, quote=quote, sender_wallet=sender.wallet_id, receiver_wallet=receiver.wallet_id
                )
        except IntegrityError:
            # Another request won the race between our read and our insert.
            return Approval(PaymentAttempt.objects.get(job=job, status__in=LIVE_STATUSES), created=False)
    return Approval(attempt, created=True)


def live_attempt(job: Job) -> PaymentAttempt | None:
    """The job's attempt that is still in progress, if any."""
    return job.attempts.filter(status__in=LIVE_STATUSES).first()


def latest_attempt(job: Job) -> PaymentAttempt | None:
    """The job's newest attempt, whatever its status."""
    return job.attempts.order_by("-created_at").first()


def succeeded_attempt(job: Job) -> PaymentAttempt | None:
    """The attempt that paid the job, if one did."""
    return job.attempts.filter(status=AttemptStatus.SUCCEEDED).first()
