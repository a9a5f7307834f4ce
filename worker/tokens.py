"""The access tokens an attempt holds, and their rotation under a row lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Literal, TypeVar

from django.db import transaction
from django.utils import timezone

from jobs.models import PaymentAttempt
from payments import AccessToken, InactiveToken
from worker.client import open_payments_client

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
    expires_at = timezone.now() + timedelta(seconds=token.expires_in) if token.expires_in else None
    return {value: token.value, manage: token.manage, expires: expires_at}


def stored_token(attempt: PaymentAttempt, kind: Kind) -> AccessToken:
    """The `kind` token the attempt holds."""
    value, manage, _ = FIELDS[kind]
    return AccessToken(
        value=getattr(attempt, value), manage=getattr(attempt, manage), expires_in=None, access=()
    )


def rotate(attempt_id: object, kind: Kind, stale: AccessToken) -> AccessToken:
    """A fresh `kind` token: rotates `stale` at the wallet, unless another worker already did.

    The row lock makes concurrent rotations queue up; the second finds the new value stored and uses it
    (rotating twice would kill the token the first one just stored).
    """
    with transaction.atomic():
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
        current = stored_token(attempt, kind)
        if current.value != stale.value:
            return current
        fresh = open_payments_client().tokens.rotate(current)
        PaymentAttempt.objects.filter(pk=attempt_id).update(**token_fields(kind, fresh))
        return fresh


def using_token(attempt: PaymentAttempt, kind: Kind, call: Callable[[AccessToken], T]) -> T:
    """`call(token)`, rotating the token once if the resource server says it is inactive."""
    token = stored_token(attempt, kind)
    try:
        return call(token)
    except InactiveToken:
        return call(rotate(attempt.pk, kind, token))
