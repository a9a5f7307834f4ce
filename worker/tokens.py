"""The access tokens an attempt holds (rotated under its lease), and those many attempts share: the
non-interactive grant tokens and a funder's budget (each rotated under its row lock)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from django.db import transaction
from django.utils import timezone

from jobs.leases import Lease
from jobs.models import Budget, GrantToken, PaymentAttempt
from jobs.services import budget_end
from marketplace.open_payments import open_payments_client
from payments import AccessToken, InactiveToken, NotFound, Unauthorized

Kind = Literal["incoming", "outgoing"]
T = TypeVar("T")

# Which attempt fields hold each token: value, manage URL, expiry.
FIELDS: dict[Kind, tuple[str, str, str]] = {
    "incoming": ("incoming_token", "incoming_token_manage", "incoming_token_expires_at"),
    "outgoing": ("access_token", "access_token_manage", "access_token_expires_at"),
}


def token_fields(kind: Kind, token: AccessToken) -> dict[str, object]:
    """The attempt fields that store `token` as the `kind` token."""
    value, manage, expires = FIELDS[kind]
    return {value: token.value, manage: token.manage, expires: expiry(token)}


def expiry(token: AccessToken) -> datetime | None:
    """When `token` stops working, if its grant said."""
    return timezone.now() + timedelta(seconds=token.expires_in) if token.expires_in else None


def stored_token(attempt: PaymentAttempt, kind: Kind) -> AccessToken:
    """The `kind` token the attempt holds."""
    value, manage, _ = FIELDS[kind]
    return AccessToken(
        value=getattr(attempt, value), manage=getattr(attempt, manage), expires_in=None, access=()
    )


def using_token(lease: Lease, kind: Kind, call: Callable[[AccessToken], T]) -> T:
    """`call(token)` with the leased attempt's `kind` token (a payment its budget pays: the budget's),
    rotated once if the resource server says it is inactive. The new value and manage URL are recorded
    before they are used: the old ones are dead."""
    if kind == "outgoing" and lease.attempt.budget_id is not None and not lease.attempt.budget_fallback:
        return using_budget(lease.attempt.budget_id, call)
    token = stored_token(lease.attempt, kind)
    try:
        return call(token)
    except InactiveToken:
        fresh = open_payments_client().tokens.rotate(token)
        lease.record(**token_fields(kind, fresh))
        return call(fresh)


# --- shared grant tokens --------------------------------------------------------------------------------
#
# A non-interactive grant (incoming payments at a provider's wallet, quotes at a funder's auth server) is
# the same for every attempt, so its token is requested once and used by every attempt and worker until
# shortly before it expires; then one worker rotates it at its manage URL (a new value and manage URL,
# the old ones die at once) under the row lock, and the others pick the new value up from the row. A
# token the resource server calls inactive (expired early, revoked) is rotated the same way, once.

RENEW_BEFORE = timedelta(seconds=60)
# This process's copy of each shared token, so a step reads the database only when a token changes.
_MEMO: dict[str, tuple[AccessToken, datetime | None]] = {}


def shared_key(kind: str, auth_server: str, identifier: str = "") -> str:
    """The key of the shared token for `kind` access at `auth_server` (on `identifier`, if any)."""
    return hashlib.sha256(f"{kind}\n{auth_server}\n{identifier}".encode()).hexdigest()


def _usable(expires_at: datetime | None) -> bool:
    return expires_at is None or expires_at - RENEW_BEFORE > timezone.now()


def _remember(key: str, row: GrantToken) -> AccessToken:
    token = AccessToken(value=row.value, manage=row.manage, expires_in=None, access=())
    _MEMO[key] = (token, row.expires_at)
    return token


def shared_token(key: str, kind: str, auth_server: str, request: Callable[[], AccessToken]) -> AccessToken:
    """The shared token under `key`: this process's copy, else the stored one, else a renewed one."""
    memo = _MEMO.get(key)
    if memo is not None and _usable(memo[1]):
        return memo[0]
    row = GrantToken.objects.filter(key=key).first()
    if row is not None and _usable(row.expires_at):
        return _remember(key, row)
    return renew(key, kind, auth_server, request, stale=row.value if row else None)


def renew(
    key: str, kind: str, auth_server: str, request: Callable[[], AccessToken], *, stale: str | None
) -> AccessToken:
    """A working token under `key`, replacing `stale` (None: there was none).

    Under the row lock: if another worker already replaced `stale`, its token is used; otherwise the
    stored token is rotated at its manage URL, or, when there is none or the grant is gone, `request()`
    asks for a new grant. Two workers creating the first row at once both get a grant; the first stored
    wins and the other grant is left to expire unused.
    """
    _MEMO.pop(key, None)
    with transaction.atomic():
        row = GrantToken.objects.select_for_update().filter(key=key).first()
        if row is not None and row.value != stale and _usable(row.expires_at):
            return _remember(key, row)
        fresh: AccessToken | None = None
        if row is not None:
            try:
                fresh = open_payments_client().tokens.rotate(
                    AccessToken(value=row.value, manage=row.manage, expires_in=None, access=())
                )
            except (Unauthorized, NotFound):
                fresh = None  # the grant was revoked or is unknown: ask for a new one
        if fresh is None:
            fresh = request()
        expires_at = expiry(fresh)
        values = {"value": fresh.value, "manage": fresh.manage, "expires_at": expires_at}
        if row is not None:
            GrantToken.objects.filter(pk=row.pk).update(updated_at=timezone.now(), **values)
            row.value, row.manage, row.expires_at = fresh.value, fresh.manage, expires_at
        else:
            row, _ = GrantToken.objects.get_or_create(
                key=key, defaults={"kind": kind, "auth_server": auth_server, **values}
            )
        return _remember(key, row)


def using_shared(
    key: str,
    kind: str,
    auth_server: str,
    request: Callable[[], AccessToken],
    call: Callable[[AccessToken], T],
) -> T:
    """`call(token)` with the shared token under `key`, renewing it once if the server says it is inactive."""
    token = shared_token(key, kind, auth_server, request)
    try:
        return call(token)
    except InactiveToken:
        return call(renew(key, kind, auth_server, request, stale=token.value))


# --- budgets ----------------------------------------------------------------------------------------


class BudgetGone(Exception):
    """The budget ended, or its grant is no longer honoured by the wallet (revoked, unknown): nothing can
    be paid from it. The message says why, in the funder's words."""


BUDGET_GONE = "Your wallet no longer honours this budget, so it ended."


def budget_token(budget: Budget) -> AccessToken:
    """The budget's access token as stored."""
    return AccessToken(
        value=budget.access_token, manage=budget.access_token_manage, expires_in=None, access=()
    )


def using_budget(budget_id: uuid.UUID | str, call: Callable[[AccessToken], T]) -> T:
    """`call(token)` with the budget's access token, rotated first when it is about to expire and once
    when the resource server says it is inactive; raises BudgetGone when the budget cannot pay."""
    budget = Budget.objects.get(pk=budget_id)
    if budget.status != Budget.Status.ACTIVE or not budget.access_token:
        raise BudgetGone(budget.end_reason or BUDGET_GONE)
    token = budget_token(budget)
    if not _usable(budget.access_token_expires_at):
        token = renew_budget(budget_id, stale=token.value)
    try:
        return call(token)
    except InactiveToken:
        return call(renew_budget(budget_id, stale=token.value))


def renew_budget(budget_id: uuid.UUID | str, *, stale: str) -> AccessToken:
    """The budget's token, rotated at its manage URL under the row lock unless another worker already
    replaced `stale`; a grant the wallet no longer knows ends the budget (BudgetGone)."""
    with transaction.atomic():
        budget = Budget.objects.select_for_update().get(pk=budget_id)
        if budget.status != Budget.Status.ACTIVE:
            raise BudgetGone(budget.end_reason or BUDGET_GONE)
        if budget.access_token != stale:
            return budget_token(budget)
        try:
            fresh: AccessToken | None = open_payments_client().tokens.rotate(budget_token(budget))
        except (Unauthorized, NotFound):
            fresh = None
        if fresh is not None:
            budget.access_token, budget.access_token_manage = fresh.value, fresh.manage
            budget.access_token_expires_at = expiry(fresh)
            budget.save(
                update_fields=["access_token", "access_token_manage", "access_token_expires_at", "updated_at"]
            )
            return fresh
    # Outside the transaction: raising inside it would roll the ending back.
    budget_end(budget_id, BUDGET_GONE)
    raise BudgetGone(BUDGET_GONE)
