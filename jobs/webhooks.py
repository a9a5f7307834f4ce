"""What a status webhook is, shared by the admin (web) and the deliveries (`worker.webhooks`): the SSRF
policy endpoint URLs must pass, the signature, the event's JSON and a resend. docs/webhooks.md is the
integrators' side of it.

A body is signed as Stripe signs: `Marketplace-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>" under the endpoint's secret>`; `Marketplace-Event-Id` carries the event's id, the key to
deduplicate on. The JSON says what the API's status documents say to staff, without a token, a nonce, a
wallet's grant or payment URL, or the payment link.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils import timezone

from jobs.models import PaymentAttempt, PaymentEvent, Refund, WebhookDelivery
from jobs.money import Money
from jobs.presenters import attempt_debit, attempt_error, attempt_receive
from payments import URLPolicy

SIGNATURE_HEADER = "Marketplace-Signature"
EVENT_ID_HEADER = "Marketplace-Event-Id"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def config() -> dict[str, Any]:
    """`settings.WEBHOOKS`."""
    values: dict[str, Any] = settings.WEBHOOKS
    return values


@lru_cache(maxsize=4)
def _policy(http_hosts: tuple[str, ...], private_hosts: tuple[str, ...]) -> URLPolicy:
    return URLPolicy(allowed_http_hosts=frozenset(http_hosts), private_hosts=frozenset(private_hosts))


def policy() -> URLPolicy:
    """Where endpoints may be: https on public addresses, unless WEBHOOK_HTTP_HOSTS / WEBHOOK_PRIVATE_HOSTS
    list the host (plain http / private or loopback addresses); never a cloud metadata address."""
    values = config()
    return _policy(tuple(values["HTTP_HOSTS"]), tuple(values["PRIVATE_HOSTS"]))


def new_secret() -> str:
    """A fresh endpoint secret (256 bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The `Marketplace-Signature` header's value for `body` sent at `timestamp` (unix seconds)."""
    signed = f"{timestamp}.".encode("ascii") + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _iso(event: PaymentEvent) -> str:
    return event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_payload(event: PaymentEvent) -> dict[str, object]:
    """The JSON an endpoint receives for `event`: its id, type and time, and what it is about. Amounts are
    as they stood when the event was handed to the webhooks (within seconds of the change)."""
    data: dict[str, object] = {
        "jobId": event.job_id,
        "attemptId": str(event.attempt_id) if event.attempt_id else None,
        "refundId": event.refund_id,
        "kind": "refund" if event.refund_id else "payment",
        "status": event.status,
        "amount": None,
        "receiveAmount": None,
        "error": None,
    }
    if event.attempt_id:
        attempt = PaymentAttempt.objects.select_related("quote", "refund").get(pk=event.attempt_id)
        receive = attempt_receive(attempt)
        data.update(
            amount=attempt_debit(attempt).as_json(),
            receiveAmount=receive.as_json() if receive else None,
            # A final status never changes, so the attempt's error is the one of this event.
            error=attempt_error(attempt) if attempt.status == event.status else None,
        )
    elif event.refund_id:
        refund = Refund.objects.get(pk=event.refund_id)
        data["amount"] = Money(refund.amount_value, refund.asset_code, refund.asset_scale).as_json()
    return {"id": str(event.event_id), "type": event.type, "created": _iso(event), "data": data}


def give_up_at() -> datetime:
    """When a delivery made (or resent) now stops being retried."""
    return timezone.now() + timedelta(seconds=int(config()["GIVE_UP_SECONDS"]))


def resend(delivery_ids: Iterable[int]) -> list[int]:
    """Puts the deliveries back to be sent now (delivered ones too: receivers deduplicate by event id),
    with a new day of retries; the ids to enqueue once the transaction commits."""
    ids = list(delivery_ids)
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=timezone.now(),
        give_up_at=give_up_at(),
        last_error="",
    )
    return ids
