"""A funder's budget at their wallet: the steps the Celery tasks run to ask for its grant, continue it
after the funder's consent, and revoke it once it ended (`jobs.models.Budget`).

Each step starts from what the budget stored and moves it on with a conditional UPDATE
(`jobs.states.budget_transition`), so a repeated or parallel delivery changes nothing twice. A grant
whose answer was lost was never shown to anyone and expires unused.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from jobs.leases import lease_seconds
from jobs.models import Budget
from jobs.services import budget_grant_revoked
from jobs.states import budget_transition
from marketplace.open_payments import open_payments_client
from payments import (
    AccessItem,
    Amount,
    Grant,
    InteractRequest,
    Limits,
    NotFound,
    OpenPaymentsError,
    PendingGrant,
    TooFast,
    Unauthorized,
)
from payments.models import Continuation
from worker.pipeline import RetryLater, cancel_at_wallet, is_transient, pacing, plain_reason, wait
from worker.tokens import BudgetGone, expiry, using_budget

log = logging.getLogger("worker.budgets")

B = Budget.Status
NO_CONSENT_PAGE = "Your wallet did not offer a page to approve a budget; it cannot be used for one."
CONSENT_LOST = "Your wallet could not confirm the budget. Please set it again."


def finish_uri(budget: Budget) -> str:
    """Where the funder's wallet sends the browser back after consenting to the budget."""
    return f"{settings.PUBLIC_BASE_URL}/budgets/finish/{budget.pk}"


def budget_limits(budget: Budget) -> Limits:
    """What the grant allows: the budget's amount from the funder's wallet, per interval when it repeats,
    to any receiver (each payment's receiver is checked by the pipeline)."""
    amount = Amount(budget.amount_value, budget.asset_code, budget.asset_scale)
    return Limits(debit_amount=amount, interval=budget.repeating_interval)


def request_grant(budget_id: str) -> None:
    """The interactive outgoing-payment grant of a budget being prepared: its consent link is stored and
    the budget waits for the funder's wallet."""
    budget = Budget.objects.filter(pk=budget_id, status=B.PREPARING).first()
    if budget is None:
        return
    client = open_payments_client()
    try:
        sender = client.wallet_addresses.get(budget.sender_wallet)
        nonce = secrets.token_urlsafe(32)
        grant = client.grants.request(
            sender,
            access=[
                AccessItem.outgoing_payment(
                    sender.id, budget_limits(budget), actions=("create", "read", "list")
                )
            ],
            interact=InteractRequest(finish_uri=finish_uri(budget), nonce=nonce),
        )
    except OpenPaymentsError as exc:
        if is_transient(exc):
            raise
        budget_transition(budget.pk, to=B.ENDED, source=B.PREPARING, end_reason=plain_reason(exc))
        return
    if not isinstance(grant, PendingGrant) or not grant.redirect or not grant.finish_nonce:
        budget_transition(budget.pk, to=B.ENDED, source=B.PREPARING, end_reason=NO_CONSENT_PAGE)
        return
    ready = budget_transition(
        budget.pk,
        to=B.AWAITING,
        source=B.PREPARING,
        sender_auth_server=sender.auth_server,
        client_nonce=nonce,
        interact_nonce=grant.finish_nonce,
        consent_url=grant.redirect,
        continue_uri=grant.continuation.uri,
        continue_token=grant.continuation.access_token,
        continue_wait=grant.continuation.wait or 0,
        consent_expires_at=timezone.now() + timedelta(seconds=pacing("AUTHORIZATION_SECONDS")),
    )
    if ready:
        log.info("budget link ready")


def continue_grant(budget_id: str) -> None:
    """After the funder's consent: the grant continued once, its access token stored (sealed), and the
    budget active. A refused continuation ends the budget: the funder sets it again."""
    budget = Budget.objects.filter(pk=budget_id, status=B.AUTHORIZED).first()
    if budget is None:
        return
    left = (budget.updated_at + timedelta(seconds=budget.continue_wait or 0) - timezone.now()).total_seconds()
    if left > 0:
        raise wait(left)
    if not hold_continuation(budget.pk):
        return
    try:
        grant = open_payments_client().grants.continue_(
            PendingGrant(continuation=continuation(budget)), interact_ref=budget.interact_ref
        )
        if not isinstance(grant, Grant):
            raise RetryLater(max(grant.continuation.wait or 0, pacing("MIN_WAIT_MS") / 1000))
    except (Unauthorized, NotFound) as exc:
        log.warning("budget continuation refused: %s", exc)
        budget_transition(budget.pk, to=B.ENDED, source=B.AUTHORIZED, end_reason=CONSENT_LOST)
        return
    except BaseException as exc:
        # Nothing was continued: the next delivery may ask at once.
        Budget.objects.filter(pk=budget.pk, status=B.AUTHORIZED).update(continuing_until=None)
        if isinstance(exc, TooFast):
            raise wait(exc.wait) from None
        raise
    token = grant.access_token
    if budget_transition(
        budget.pk,
        to=B.ACTIVE,
        source=B.AUTHORIZED,
        continuing_until=None,
        access_token=token.value,
        access_token_manage=token.manage,
        access_token_expires_at=expiry(token),
        authorized_at=timezone.now(),
    ):
        log.info("budget active")


def hold_continuation(budget_id: uuid.UUID) -> bool:
    """Takes the right to continue the authorized budget's grant for a lease's length; False when another
    delivery holds it (it continues the grant, or its hold runs out and a redelivery takes over)."""
    now = timezone.now()
    free = Q(continuing_until__isnull=True) | Q(continuing_until__lt=now)
    held = now + timedelta(seconds=lease_seconds())
    return Budget.objects.filter(free, pk=budget_id, status=B.AUTHORIZED).update(continuing_until=held) == 1


def continuation(budget: Budget) -> Continuation:
    """The budget's grant continuation (its URI, token and wait)."""
    return Continuation(
        uri=budget.continue_uri, access_token=budget.continue_token, wait=budget.continue_wait
    )


def revoke(budget_id: str) -> None:
    """Revokes an ended budget's grant at the funder's wallet, once (a grant already gone counts as
    revoked); a failure is left to the reconciler."""
    budget = Budget.objects.filter(pk=budget_id, status=B.ENDED, grant_revoked_at__isnull=True).first()
    if budget is None or not budget.continue_uri or not cancel_at_wallet(continuation(budget)):
        return
    if budget_grant_revoked(budget.pk):
        log.info("budget grant revoked")


def refresh_spent(budget_id: str) -> None:
    """Stores what the funder's wallet says the active budget spent in its current interval."""
    budget = Budget.objects.filter(pk=budget_id, status=B.ACTIVE).first()
    if budget is None:
        return
    client = open_payments_client()
    try:
        sender = client.wallet_addresses.get(budget.sender_wallet)
        spent = using_budget(budget.pk, lambda token: client.outgoing_payment_grant.get(sender, token=token))
    except BudgetGone:
        return
    value = spent.spent_debit_amount.value if spent.spent_debit_amount else 0
    Budget.objects.filter(pk=budget.pk).update(spent_value=value, spent_checked_at=timezone.now())


GAVE_UP = "Your wallet did not answer. Please set the budget again in a few minutes."


def give_up(budget_id: str, exc: BaseException) -> None:
    """After a step's failure budget is spent: a budget still being prepared ends; one waiting on the
    funder's wallet or its continuation is left to the reconciler."""
    log.error("budget step gave up: %s", exc)
    budget_transition(budget_id, to=B.ENDED, source=B.PREPARING, end_reason=GAVE_UP)
