"""What users do on the marketplace, as functions named `<entity>_<action>`: every write the web makes
(reads are in `jobs.selectors`; pipeline steps write through their lease, `jobs.leases`)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from jobs import selectors, states
from jobs.models import (
    FINAL_STATUSES,
    LIVE_STATUSES,
    ApiToken,
    AttemptKind,
    AttemptStatus,
    Budget,
    Job,
    PaymentAttempt,
    Profile,
    Quote,
    Refund,
)
from jobs.money import format_amount
from payments.interaction import verify_finish_hash


class ActionRefused(Exception):
    """A request the marketplace refuses, with a message the user can act on."""


JOB_PAID = "This job is already paid."
NO_FUNDER_WALLET = "Add your wallet address to your profile before paying."
NO_PROVIDER_WALLET = "The provider has no wallet address yet, so they cannot be paid."
NOT_A_PROVIDER = "Only providers can quote on jobs."
OWN_JOB = "You cannot quote on your own job."
NOT_A_FUNDER = "Only funders can post jobs."
BUDGET_NEEDS_WALLET = "Add your wallet on your profile to set a budget."


def profile_get_or_create(user: User) -> Profile:
    """The user's profile, created empty the first time it is asked for."""
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def profile_update(
    *,
    user: User,
    is_funder: bool,
    is_provider: bool,
    wallet_address: str,
    wallet_id: str,
    asset_code: str,
    asset_scale: int | None,
    email: str | None = None,
) -> Profile:
    """Saves the user's roles and their resolved wallet (and their email address, unless None); a new
    wallet ends the budget granted by the old one (its grant is revoked by the reconciler)."""
    with transaction.atomic():
        if email is not None and email != user.email:
            user.email = email
            user.save(update_fields=["email"])
        profile = profile_get_or_create(user)
        if profile.wallet_id != wallet_id:
            budget_end_all(funder=user, reason=BUDGET_WALLET_CHANGED)
        profile.is_funder, profile.is_provider = is_funder, is_provider
        profile.wallet_address, profile.wallet_id = wallet_address, wallet_id
        profile.asset_code, profile.asset_scale = asset_code, asset_scale
        profile.save()
    return profile


def job_create(
    *,
    funder: User,
    title: str,
    description: str,
    budget_value: int | None = None,
    deadline: date | None = None,
) -> Job:
    """Posts a job for `funder`; its budget (if any) is in minor units of the funder's wallet asset."""
    profile = profile_get_or_create(funder)
    if not profile.is_funder:
        raise ActionRefused(NOT_A_FUNDER)
    budget: dict[str, object] = {}
    if budget_value is not None:
        if profile.asset_scale is None:
            raise ActionRefused(BUDGET_NEEDS_WALLET)
        budget = {
            "budget_value": budget_value,
            "budget_asset_code": profile.asset_code,
            "budget_asset_scale": profile.asset_scale,
        }
    return Job.objects.create(
        funder=funder, title=title, description=description, deadline=deadline, **budget
    )


def quote_create(*, job: Job, provider: User, amount_value: int, note: str) -> Quote:
    """Records a provider's price for a job, in the asset of the provider's wallet."""
    profile = profile_get_or_create(provider)
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


def quote_asset_changed(quote: Quote, provider: Profile) -> str:
    """Why a quote can no longer be paid: the provider's wallet now holds another asset (or scale) than
    the quote is priced in, so their wallet could not take the amount the quote asks for."""
    if provider.asset_code != quote.asset_code:
        return (
            f"The provider's wallet now holds {provider.asset_code}, but their quote is in "
            f"{quote.asset_code}; ask them to quote again."
        )
    return (
        f"The provider's wallet now counts {provider.asset_code} to {provider.asset_scale} decimal places, "
        f"but their quote counts {quote.asset_scale}; ask them to quote again."
    )


@dataclass(frozen=True)
class Approval:
    """The attempt an approval answers with, and whether this call created it."""

    attempt: PaymentAttempt
    created: bool


def job_quote_approve(*, job_id: int, quote_id: int, funder: User) -> Approval:
    """Starts paying `quote` on `job`: creates the attempt in `generating`, or answers the live one.

    A second click, a second tab or a replayed POST gets the attempt that is already live; the database
    allows only one, so even simultaneous requests cannot create two.
    """
    with transaction.atomic():
        # Someone else's job is not theirs to pay: to them it does not exist (no hint that it does).
        job = Job.objects.select_for_update().get(pk=job_id, funder=funder)
        quote = Quote.objects.select_related("provider").get(pk=quote_id, job=job)
        live = selectors.job_live_attempt(job)
        if live is not None:
            return Approval(live, created=False)
        if job.status == Job.Status.PAID:
            raise ActionRefused(JOB_PAID)
        sender, receiver = profile_get_or_create(funder), profile_get_or_create(quote.provider)
        if not sender.has_wallet:
            raise ActionRefused(NO_FUNDER_WALLET)
        if not receiver.has_wallet or receiver.asset_scale is None:
            raise ActionRefused(NO_PROVIDER_WALLET)
        if (receiver.asset_code, receiver.asset_scale) != (quote.asset_code, quote.asset_scale):
            raise ActionRefused(quote_asset_changed(quote, receiver))
        budget = Budget.objects.filter(
            funder=funder, status=Budget.Status.ACTIVE, sender_wallet=sender.wallet_id
        ).first()
        try:
            with transaction.atomic():
                attempt = PaymentAttempt.objects.create(
                    job=job,
                    quote=quote,
                    sender_wallet=sender.wallet_id,
                    receiver_wallet=receiver.wallet_id,
                    budget=budget,
                )
                states.attempt_event(attempt.pk, attempt.status, attempt)
        except IntegrityError:
            # Another request won the race between our read and our insert.
            live = PaymentAttempt.objects.get(job=job, status__in=LIVE_STATUSES, kind=AttemptKind.PAYMENT)
            return Approval(live, created=False)
    return Approval(attempt, created=True)


def user_create(*, username: str, password: str, is_funder: bool, is_provider: bool, email: str = "") -> User:
    """Signs a person up with their roles (and an email address, if they gave one); the wallet comes
    later, on the profile page."""
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password, email=email)
        Profile.objects.create(user=user, is_funder=is_funder, is_provider=is_provider)
    return user


# The funder's browser polls the payment panel every 2 to 5 s; noting it at most this often (seconds)
# keeps it to one small write now and then (`worker.emails` reads it).
PANEL_SEEN_EVERY = 5


def job_funder_seen(job: Job) -> None:
    """Notes that the funder's browser is on the job's page now (`Job.funder_seen_at`)."""
    now = timezone.now()
    if job.funder_seen_at is None or job.funder_seen_at < now - timedelta(seconds=PANEL_SEEN_EVERY):
        Job.objects.filter(pk=job.pk).update(funder_seen_at=now)
        job.funder_seen_at = now


NOT_CANCELLABLE = "This payment link can no longer be cancelled."


def attempt_cancel(*, attempt_id: uuid.UUID | str, refund: bool = False) -> bool:
    """Cancels a payment link the funder has not used yet, or an authorized payment still waiting for
    its wallet (before the outgoing payment is asked for); True when this call cancelled it.

    The caller checks that the user is the attempt's payer, then revokes the grant after commit (which also
    kills a token the continuation may have brought: nothing can be paid under it).
    """
    cancelled = "The provider cancelled this refund link." if refund else "You cancelled this payment link."
    if states.transition(
        attempt_id, to=AttemptStatus.CANCELLED, source=AttemptStatus.AWAITING_AUTHORIZATION, error=cancelled
    ):
        return True
    # The same UPDATE checks the step has not yet asked for the outgoing payment (it records that first).
    return states.transition(
        attempt_id,
        to=AttemptStatus.CANCELLED,
        source=AttemptStatus.AUTHORIZED,
        where={"outgoing_payment_requested_at": None},
        error=cancelled,
    )


class FinishRefused(Exception):
    """A finish callback that changes nothing: `reason` is for the log, the message for the person."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


FINISH_NOT_AWAITING = "This payment link was already used or is no longer waiting for approval."
FINISH_MALFORMED = "The wallet sent us back without the approval details we need."
FINISH_BAD_HASH = "We could not confirm that this approval came from your wallet, so nothing was paid."
DECLINED_IN_WALLET = "You declined the payment in your wallet."
INTERACTION_EXPIRED = "The approval in your wallet expired before it was completed."
GRANT_INVALID = "Your wallet says this payment link is no longer valid."
WALLET_FAILED = "Your wallet could not complete the approval."
LINK_EXPIRED = "This payment link expired before it was authorized. Get a new link to pay."
# The `result` values wallets send instead of a hash (Rafiki's interaction routes).
FINISH_RESULTS: dict[str, tuple[str, str]] = {
    "grant_rejected": (AttemptStatus.DECLINED, DECLINED_IN_WALLET),
    "invalid_interaction": (AttemptStatus.EXPIRED, INTERACTION_EXPIRED),
    "grant_invalid": (AttemptStatus.EXPIRED, GRANT_INVALID),
}
# A refund's outcomes are read by both sides, so they name the provider, who consents to it.
REFUND_FINISH_RESULTS: dict[str, tuple[str, str]] = {
    "grant_rejected": (AttemptStatus.DECLINED, "The provider declined the refund in their wallet."),
    "invalid_interaction": (
        AttemptStatus.EXPIRED,
        "The approval in the provider's wallet expired before it was completed.",
    ),
    "grant_invalid": (
        AttemptStatus.EXPIRED,
        "The provider's wallet says this refund link is no longer valid.",
    ),
}
REFUND_WALLET_FAILED = "The provider's wallet could not complete the approval."
REFUND_LINK_EXPIRED = "This refund link expired before the provider approved it; they can get a new link."


def finish_outcome(attempt: PaymentAttempt, result: str) -> tuple[str, str]:
    """The status and message a wallet's `result` ends the attempt with."""
    if attempt.is_refund:
        return REFUND_FINISH_RESULTS.get(result, (AttemptStatus.FAILED, REFUND_WALLET_FAILED))
    return FINISH_RESULTS.get(result, (AttemptStatus.FAILED, WALLET_FAILED))


def attempt_finish(
    *, attempt: PaymentAttempt, received_hash: str, interact_ref: str, result: str, by_payer: bool
) -> str:
    """Applies the wallet's finish redirect to an attempt awaiting authorization; returns its status.

    A `result` (the payer declined, or the interaction ended) carries no proof that the payer's wallet
    sent it: in the payer's own session (`by_payer`: the funder, or the provider for a refund) it ends the
    attempt; from anyone else it is only noted, changes nothing now, and names the outcome if the link
    expires unused (a payer who declined on a phone without a session still has their decline recorded).
    Otherwise the hash must match this attempt's nonces, and the attempt becomes authorized (once: a
    replay finds it no longer awaiting).
    Raises FinishRefused, changing nothing, on anything else.
    """
    awaiting = AttemptStatus.AWAITING_AUTHORIZATION
    if attempt.status != awaiting:
        raise FinishRefused("not_awaiting", FINISH_NOT_AWAITING)
    if result and not by_payer:
        if result in FINISH_RESULTS:
            PaymentAttempt.objects.filter(pk=attempt.pk, status=awaiting).update(reported_result=result)
        return awaiting
    if result:
        status, error = finish_outcome(attempt, result)
        if not states.transition(attempt.pk, to=status, source=awaiting, error=error):
            raise FinishRefused("not_awaiting", FINISH_NOT_AWAITING)
        return status
    check_consent(
        attempt, received_hash=received_hash, interact_ref=interact_ref, unknown=FINISH_NOT_AWAITING
    )
    authorized = states.transition(
        attempt.pk,
        to=AttemptStatus.AUTHORIZED,
        source=awaiting,
        interact_ref=interact_ref,
        authorized_at=timezone.now(),
    )
    if not authorized:
        raise FinishRefused("not_awaiting", FINISH_NOT_AWAITING)
    return AttemptStatus.AUTHORIZED


def check_consent(
    holder: PaymentAttempt | Budget, *, received_hash: str, interact_ref: str, unknown: str
) -> None:
    """Raises FinishRefused unless `received_hash` is the finish hash of `holder`'s grant (an attempt's or
    a budget's) for `interact_ref`; `unknown` is the message when it holds no grant."""
    field_limit = type(holder)._meta.get_field("interact_ref").max_length or 0
    if not received_hash or not interact_ref or len(interact_ref) > field_limit:
        raise FinishRefused("malformed", FINISH_MALFORMED)
    if not (holder.client_nonce and holder.interact_nonce and holder.sender_auth_server):
        raise FinishRefused("no_grant", unknown)
    if not verify_finish_hash(
        received=received_hash,
        client_nonce=holder.client_nonce,
        interact_nonce=holder.interact_nonce,
        interact_ref=interact_ref,
        auth_server=holder.sender_auth_server,
    ):
        raise FinishRefused("bad_hash", FINISH_BAD_HASH)


def attempt_expiry(attempt: PaymentAttempt) -> tuple[str, str]:
    """The status and message an unused link ends with: what its wallet reported, if anything."""
    if attempt.reported_result in FINISH_RESULTS:
        return finish_outcome(attempt, attempt.reported_result)
    return AttemptStatus.EXPIRED, REFUND_LINK_EXPIRED if attempt.is_refund else LINK_EXPIRED


def attempt_grant_revoked(attempt_id: uuid.UUID | str) -> bool:
    """Records that a finished attempt's grant is revoked at the funder's wallet; False when that was
    recorded already (or the attempt is not finished)."""
    owed = PaymentAttempt.objects.filter(
        pk=attempt_id, status__in=FINAL_STATUSES, grant_revoked_at__isnull=True
    )
    return owed.update(grant_revoked_at=timezone.now()) == 1


# --- Refunds ------------------------------------------------------------------------------------

NOT_PAID = "Only a paid job can be refunded."
ONLY_FUNDER_ASKS = "Only the job's funder can ask for a refund; to send money back, offer a refund."
NOTHING_LEFT = "Everything paid for this job is already refunded or asked back."
REFUND_NOT_OPEN = "This refund is no longer waiting for an answer."
REFUND_NOT_DECLINABLE = "This refund is being paid or was already settled, so it cannot be declined."
REFUND_IN_PROGRESS = "This refund is already being paid; here is where it stands."
REFUND_DONE = "This refund was already paid."
REFUND_RACE = "Another refund of this job was recorded at the same time; check what is left and try again."
NOT_PAID_PROVIDER = "Only the provider who was paid can offer a refund."
REASON_LIMIT = 1000


def refund_remaining(job: Job) -> int:
    """What may still be refunded on the job (minor units of the paid quote's asset)."""
    return (job.paid_amount or 0) - job.refunds_committed


def _refund_commit(
    job: Job, paid: PaymentAttempt, *, amount: int | None, reason: str, by: User, status: str
) -> Refund:
    """Counts the refund against what the job may still have refunded and records it, in the caller's
    transaction; the database refuses a sum above what was paid whatever ran alongside."""
    remaining = refund_remaining(job)
    quote = paid.quote
    if remaining <= 0:
        raise ActionRefused(NOTHING_LEFT)
    amount = remaining if amount is None else amount
    if amount <= 0:
        raise ActionRefused("Enter an amount greater than zero.")
    if amount > remaining:
        left = format_amount(remaining, quote.asset_code, quote.asset_scale)
        raise ActionRefused(f"At most {left} can still be refunded on this job.")
    try:
        with transaction.atomic():
            Job.objects.filter(pk=job.pk).update(refunds_committed=F("refunds_committed") + amount)
            refund = Refund.objects.create(
                job=job,
                payment=paid,
                amount_value=amount,
                asset_code=quote.asset_code,
                asset_scale=quote.asset_scale,
                reason=reason.strip()[:REASON_LIMIT],
                requested_by=by,
                status=status,
                decided_at=timezone.now() if status == Refund.Status.AGREED else None,
            )
            states.refund_event(refund.pk, status)
            return refund
    except IntegrityError:
        # Only a refund committed alongside ours (the job row is locked, so never in practice).
        raise ActionRefused(REFUND_RACE) from None


def _paid_job(job_id: int, user: User) -> tuple[Job, PaymentAttempt | None]:
    """The job (locked for the refund write) if `user` is its funder or its paid provider, else
    Job.DoesNotExist (to anyone else it does not exist); with the payment that paid it."""
    job = Job.objects.select_for_update().get(pk=job_id)
    paid = (
        PaymentAttempt.objects.select_related("quote")
        .filter(job=job, kind=AttemptKind.PAYMENT, status=AttemptStatus.SUCCEEDED)
        .first()
    )
    if job.funder_id != user.pk and (paid is None or paid.quote.provider_id != user.pk):
        raise Job.DoesNotExist
    return job, paid


def refund_request(*, job_id: int, funder: User, amount: int | None, reason: str) -> Refund:
    """The funder asks for `amount` (or everything still refundable) back, for the provider to agree to."""
    with transaction.atomic():
        job, paid = _paid_job(job_id, funder)
        if job.funder_id != funder.pk:
            raise ActionRefused(ONLY_FUNDER_ASKS)
        if paid is None:
            raise ActionRefused(NOT_PAID)
        return _refund_commit(
            job, paid, amount=amount, reason=reason, by=funder, status=Refund.Status.REQUESTED
        )


def refund_offer(*, job_id: int, provider: User, amount: int | None, reason: str) -> Approval:
    """The paid provider sends `amount` (or everything still refundable) back on their own initiative:
    the refund is agreed at once and its first attempt starts."""
    with transaction.atomic():
        job, paid = _paid_job(job_id, provider)
        if paid is None:
            raise ActionRefused(NOT_PAID)
        if paid.quote.provider_id != provider.pk:
            raise ActionRefused(NOT_PAID_PROVIDER)
        refund = _refund_commit(
            job, paid, amount=amount, reason=reason, by=provider, status=Refund.Status.AGREED
        )
        return Approval(_refund_attempt(refund, paid), created=True)


def _provider_refund(refund_id: int, provider: User) -> Refund:
    """The refund, locked, if `provider` is the one it pays back from; else Refund.DoesNotExist."""
    return (
        Refund.objects.select_for_update()
        .select_related("job", "payment__quote")
        .get(pk=refund_id, payment__quote__provider=provider)
    )


def refund_agree(*, refund_id: int, provider: User) -> Approval:
    """The provider agrees to a requested refund, or asks for a new link for an agreed one whose last
    attempt ended unpaid: the refund's attempt (created in `generating`, or the live one)."""
    with transaction.atomic():
        refund = _provider_refund(refund_id, provider)
        live = refund.attempts.filter(status__in=LIVE_STATUSES).first()
        if live is not None:
            return Approval(live, created=False)
        if refund.status == Refund.Status.REFUNDED:
            raise ActionRefused(REFUND_DONE)
        if refund.status == Refund.Status.REQUESTED:
            states.refund_transition(refund.pk, to=Refund.Status.AGREED, decided_at=timezone.now())
        elif refund.status != Refund.Status.AGREED:
            raise ActionRefused(REFUND_NOT_OPEN)
        return Approval(_refund_attempt(refund, refund.payment), created=True)


def _refund_attempt(refund: Refund, paid: PaymentAttempt) -> PaymentAttempt:
    """A new attempt paying `refund` from the provider's wallet to the funder's."""
    quote = paid.quote
    sender, receiver = profile_get_or_create(quote.provider), profile_get_or_create(refund.job.funder)
    if not sender.has_wallet:
        raise ActionRefused("Add your wallet address to your profile before refunding.")
    if not receiver.has_wallet:
        raise ActionRefused("The funder has no wallet address any more, so they cannot be refunded.")
    if (sender.asset_code, sender.asset_scale) != (quote.asset_code, quote.asset_scale):
        raise ActionRefused(
            f"You were paid in {quote.asset_code}, but your wallet now holds {sender.asset_code}; "
            "refund from a wallet in the asset you were paid in."
        )
    try:
        with transaction.atomic():
            attempt = PaymentAttempt.objects.create(
                job_id=refund.job_id,
                quote=quote,
                kind=AttemptKind.REFUND,
                refund=refund,
                sender_wallet=sender.wallet_id,
                receiver_wallet=receiver.wallet_id,
            )
            states.attempt_event(attempt.pk, attempt.status, attempt)
            return attempt
    except IntegrityError:
        return PaymentAttempt.objects.get(refund=refund, status__in=LIVE_STATUSES)


def refund_decline(*, refund_id: int, provider: User, reason: str) -> None:
    """The provider declines a requested refund (or an agreed one with no attempt under way), with a
    reason the funder reads; its amount may be asked for again."""
    with transaction.atomic():
        refund = _provider_refund(refund_id, provider)
        busy = refund.attempts.filter(status__in=[*LIVE_STATUSES, AttemptStatus.SUCCEEDED]).exists()
        if busy or not states.refund_transition(
            refund.pk,
            to=Refund.Status.DECLINED,
            decline_reason=reason.strip()[:REASON_LIMIT],
            decided_at=timezone.now(),
        ):
            raise ActionRefused(REFUND_NOT_DECLINABLE)


def refund_cancel(*, refund_id: int, funder: User) -> None:
    """The funder withdraws a refund request the provider has not answered yet."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id, job__funder=funder)
        if not states.refund_transition(
            refund.pk, to=Refund.Status.CANCELLED, source=Refund.Status.REQUESTED
        ):
            raise ActionRefused(REFUND_NOT_OPEN)


# --- Budgets ------------------------------------------------------------------------------------

BUDGET_WALLET_CHANGED = "You changed your wallet address, so the budget it granted ended."
BUDGET_REVOKED = "You revoked this budget."
BUDGET_LIVE = "You already have a budget. Revoke it first to set another."
BUDGET_NO_WALLET = "Add your wallet address to your profile before setting a budget."
BUDGET_PER_JOB = "The amount paid at once per job cannot be more than the budget."
BUDGET_NOT_AWAITING = "This budget link was already used or is no longer waiting for your wallet."
BUDGET_DECLINED = "You declined the budget in your wallet."
BUDGET_WALLET_FAILED = "Your wallet could not complete the approval of the budget."


def budget_create(*, funder: User, amount: int, interval: str, per_job_limit: int | None) -> Budget:
    """Starts setting a budget for `funder`'s wallet: `amount` (per `interval`, a `Budget.Interval`), of which
    at most `per_job_limit` (default: all of it) is paid at once per job. The caller enqueues its link."""
    profile = profile_get_or_create(funder)
    if not profile.is_funder:
        raise ActionRefused(NOT_A_FUNDER)
    if not profile.has_wallet or profile.asset_scale is None:
        raise ActionRefused(BUDGET_NO_WALLET)
    per_job = amount if per_job_limit is None else per_job_limit
    if amount <= 0 or per_job <= 0:
        raise ActionRefused("Enter an amount greater than zero.")
    if per_job > amount:
        raise ActionRefused(BUDGET_PER_JOB)
    try:
        with transaction.atomic():
            return Budget.objects.create(
                funder=funder,
                sender_wallet=profile.wallet_id,
                amount_value=amount,
                asset_code=profile.asset_code,
                asset_scale=profile.asset_scale,
                interval=Budget.Interval(interval),
                interval_start=timezone.now() if interval else None,
                per_job_limit=per_job,
            )
    except IntegrityError:
        raise ActionRefused(BUDGET_LIVE) from None


def budget_end_all(*, funder: User, reason: str) -> None:
    """Ends `funder`'s live budget (if any) with `reason` (the reconciler revokes its grant)."""
    for budget_id in (
        Budget.objects.filter(funder=funder).exclude(status=Budget.Status.ENDED).values_list("pk", flat=True)
    ):
        budget_end(budget_id, reason)


def budget_finish(
    *, budget: Budget, received_hash: str, interact_ref: str, result: str, by_funder: bool
) -> str:
    """Applies the wallet's finish redirect to a budget waiting for consent; returns its status. As for a
    payment (`attempt_finish`): a `result` ends it only in the funder's own session; otherwise the hash
    must match the budget's nonces. Raises FinishRefused, changing nothing, on anything else."""
    awaiting = Budget.Status.AWAITING
    if budget.status != awaiting:
        raise FinishRefused("not_awaiting", BUDGET_NOT_AWAITING)
    if result:
        if not by_funder:
            return awaiting
        reason = BUDGET_DECLINED if result == "grant_rejected" else BUDGET_WALLET_FAILED
        if not states.budget_transition(
            budget.pk, to=Budget.Status.ENDED, source=awaiting, end_reason=reason
        ):
            raise FinishRefused("not_awaiting", BUDGET_NOT_AWAITING)
        return Budget.Status.ENDED
    check_consent(budget, received_hash=received_hash, interact_ref=interact_ref, unknown=BUDGET_NOT_AWAITING)
    if not states.budget_transition(
        budget.pk, to=Budget.Status.AUTHORIZED, source=awaiting, interact_ref=interact_ref
    ):
        raise FinishRefused("not_awaiting", BUDGET_NOT_AWAITING)
    return Budget.Status.AUTHORIZED


def budget_end(budget_id: uuid.UUID | str, reason: str) -> bool:
    """Ends the budget with `reason` (the reconciler revokes its grant); True when this call ended it."""
    return states.budget_transition(budget_id, to=Budget.Status.ENDED, end_reason=reason)


def budget_revoke(*, budget_id: uuid.UUID | str, funder: User) -> bool:
    """The funder ends their budget; True when this call ended it. The caller enqueues the revocation of
    its grant at the wallet (the reconciler retries it)."""
    budget = Budget.objects.get(pk=budget_id, funder=funder)
    return budget_end(budget.pk, BUDGET_REVOKED)


def budget_grant_revoked(budget_id: uuid.UUID | str) -> bool:
    """Records that an ended budget's grant is revoked at the funder's wallet; False when recorded already."""
    owed = Budget.objects.filter(pk=budget_id, status=Budget.Status.ENDED, grant_revoked_at__isnull=True)
    return owed.update(grant_revoked_at=timezone.now()) == 1


@dataclass(frozen=True)
class IssuedToken:
    """A new API token and its key, which exists nowhere else once this is dropped."""

    token: ApiToken
    key: str


LAST_USED_PRECISION = timedelta(minutes=1)


def api_key_hash(key: str) -> str:
    """The SHA-256 (hex) under which a key is stored and looked up."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_token_create(*, user: User, name: str = "") -> IssuedToken:
    """Issues an API key for `user`, storing only its hash."""
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=api_key_hash(key))
    return IssuedToken(token=token, key=key)


def api_token_authenticate(key: str) -> User | None:
    """The active user the key belongs to (noting when it was used, to the minute), or None."""
    token = ApiToken.objects.select_related("user").filter(key_hash=api_key_hash(key)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        # Not a write on every call: a script approving in a loop would commit once per request.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
