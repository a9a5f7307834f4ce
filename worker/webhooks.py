"""Status webhooks: every payment event goes, signed, to every active endpoint (docs/webhooks.md).

- The consumer `webhooks` (`worker.events`) records one `WebhookDelivery` per active endpoint and event,
  with the event's JSON, and enqueues `webhooks.deliver` once that commits.
- `webhooks.deliver` (a delivery id) makes one try: a POST through the SSRF-guarded client, within
  WEBHOOK_DEADLINE_SECONDS as a whole, the answer's body read no further than BODY_CAP bytes. A 2xx
  delivers; anything else is retried after a jittered exponential backoff (WEBHOOK_RETRY_MIN_SECONDS up
  to WEBHOOK_RETRY_MAX_SECONDS) until WEBHOOK_GIVE_UP_SECONDS after the delivery was made, then it has
  failed. An endpoint the guard refuses (a private address, plain http) fails at once, nothing sent.
- In order per job: a delivery is not sent while an earlier event of the same job is still pending for
  the same endpoint; it waits behind it, and goes as soon as that one is delivered or has failed. So an
  endpoint sees a job's payment and refund events in the order they happened.

A delivery's `next_attempt_at` is its schedule: a message runs a try only when the delivery is due, and
claims it with a conditional update that moves `next_attempt_at` past the try's deadline (a hold), so a
duplicated or early message does nothing and two tries never overlap. Messages lost to a broker outage or
a killed worker are sent again by `webhooks.sweep` (beat, every minute).
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import datetime, timedelta
from functools import lru_cache

import httpx
from celery import shared_task
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import webhooks as hooks
from jobs.models import PaymentEvent, WebhookDelivery, WebhookEndpoint
from payments import TransportError, UnsafeURLError, URLPolicy, deadline
from payments.transport import build_http_client
from worker.events import consumer

log = logging.getLogger("worker.webhooks")

Status = WebhookDelivery.Status
# Bytes of an endpoint's answer read at most (it is not kept: only the status code counts).
BODY_CAP = 1024
# A message may run this early (Celery's timer), or a hold end this long after the try's deadline.
EARLY = timedelta(seconds=1)
HOLD_MARGIN = timedelta(seconds=5)
# How long after the delivery ahead of it a waiting one looks again (the one ahead also wakes it).
ORDER_WAIT = timedelta(seconds=1)
SWEEP_BATCH = 500
USER_AGENT = "ilp-marketplace-webhooks/1"


def backoff(failures: int) -> float:
    """Seconds before the try that follows failure number `failures` (1, 2, …): exponential from
    WEBHOOK_RETRY_MIN_SECONDS, capped at WEBHOOK_RETRY_MAX_SECONDS, with jitter (half to all of it)."""
    values = hooks.config()
    ceiling = min(
        float(values["RETRY_MAX_SECONDS"]), float(values["RETRY_MIN_SECONDS"]) * 2.0 ** (failures - 1)
    )
    return random.uniform(0.5, 1.0) * ceiling  # noqa: S311 - jitter, not security


@lru_cache(maxsize=4)
def _client(policy: URLPolicy, seconds: float) -> httpx.Client:
    return build_http_client(policy, timeout=httpx.Timeout(seconds))


def client() -> httpx.Client:
    """The guarded HTTP client of this process (its connections kept), for the current settings."""
    return _client(hooks.policy(), float(hooks.config()["DEADLINE_SECONDS"]))


def post(url: str, secret: str, event_id: str, body: bytes) -> int:
    """POSTs `body` signed to `url` within the deadline; the answer's status code. Raises UnsafeURLError
    (before connecting) for a URL the guard refuses, httpx.HTTPError or TransportError when no answer came."""
    hooks.policy().check_url(url)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        hooks.EVENT_ID_HEADER: event_id,
        hooks.SIGNATURE_HEADER: hooks.signature(secret, body, int(time.time())),
    }
    with (
        deadline(float(hooks.config()["DEADLINE_SECONDS"])),
        client().stream("POST", url, content=body, headers=headers) as response,
    ):
        read = 0
        for chunk in response.iter_raw():
            read += len(chunk)
            if read >= BODY_CAP:
                break
        return response.status_code


def publish(delivery_id: int, at: datetime | None) -> None:
    """Sends the `webhooks.deliver` message (at `at`); a broker that is down leaves it to the sweep."""
    try:
        if at is None:
            deliver_task.delay(delivery_id)
        else:
            deliver_task.apply_async((delivery_id,), eta=at)
    except Exception as exc:  # kombu and redis raise many kinds of connection errors
        log.warning("broker unavailable, webhook delivery left to the sweep: %s", type(exc).__name__)


def enqueue(delivery_id: int, at: datetime | None = None) -> None:
    """Publishes the delivery's try once the current transaction commits."""
    transaction.on_commit(lambda: publish(delivery_id, at))


@consumer("webhooks")
def on_event(event: PaymentEvent) -> None:
    """One delivery per active endpoint for `event` (none twice, if the event is handed over again)."""
    endpoints = list(WebhookEndpoint.objects.filter(active=True).values_list("pk", flat=True))
    if not endpoints:
        return
    payload = hooks.event_payload(event)
    now, give_up_at = timezone.now(), hooks.give_up_at()
    for endpoint_id in endpoints:
        delivery, created = WebhookDelivery.objects.get_or_create(
            endpoint_id=endpoint_id,
            event=event,
            defaults={"payload": payload, "next_attempt_at": now, "give_up_at": give_up_at},
        )
        if created:
            enqueue(delivery.pk)


def _ahead(delivery: WebhookDelivery) -> WebhookDelivery | None:
    """The earliest pending delivery of an earlier event of the same job to the same endpoint."""
    return (
        WebhookDelivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            event__job_id=delivery.event.job_id,
            event_id__lt=delivery.event_id,
            status=Status.PENDING,
        )
        .order_by("event_id")
        .first()
    )


def _wake_next(delivery: WebhookDelivery) -> None:
    """Once `delivery` is delivered or failed, the next pending one of its job to its endpoint goes now."""
    following = (
        WebhookDelivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            event__job_id=delivery.event.job_id,
            event_id__gt=delivery.event_id,
            status=Status.PENDING,
        )
        .order_by("event_id")
        .values_list("pk", "next_attempt_at")
        .first()
    )
    if following is None:
        return
    pk, scheduled = following
    now = timezone.now()
    if scheduled > now and not WebhookDelivery.objects.filter(pk=pk, next_attempt_at=scheduled).update(
        next_attempt_at=now
    ):
        return  # it moved meanwhile: whoever moved it sends its message
    enqueue(pk)


def _record(delivery: WebhookDelivery, hold: datetime, **fields: object) -> bool:
    """Writes the try's outcome, unless the delivery changed meanwhile (a resend)."""
    return bool(WebhookDelivery.objects.filter(pk=delivery.pk, next_attempt_at=hold).update(**fields))


def _short(exc: Exception) -> str:
    """What went wrong, short; the URL's query (which may hold a token) never appears in these messages."""
    return f"{type(exc).__name__}: {exc}"[:300]


def deliver(delivery_id: int) -> None:
    """One try of the delivery, if it is due and nothing of its job is pending ahead of it."""
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").filter(pk=delivery_id).first()
    now = timezone.now()
    if delivery is None or delivery.status != Status.PENDING or delivery.next_attempt_at > now + EARLY:
        return  # done, or another message holds its schedule
    scheduled = delivery.next_attempt_at
    endpoint = delivery.endpoint
    if not endpoint.active:
        if _record(delivery, scheduled, status=Status.FAILED, last_error="the endpoint is not active"):
            _wake_next(delivery)
        return
    ahead = _ahead(delivery)
    if ahead is not None:
        at = max(ahead.next_attempt_at, now) + ORDER_WAIT
        if WebhookDelivery.objects.filter(pk=delivery.pk, next_attempt_at=scheduled).update(
            next_attempt_at=at
        ):
            enqueue(delivery.pk, at)
        return
    hold = now + timedelta(seconds=float(hooks.config()["DEADLINE_SECONDS"])) + HOLD_MARGIN
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=Status.PENDING, next_attempt_at=scheduled
    ).update(next_attempt_at=hold, attempts=F("attempts") + 1)
    if not claimed:
        return  # another message claimed it first
    tries = delivery.attempts + 1
    body = json.dumps(delivery.payload, separators=(",", ":")).encode("utf-8")
    code: int | None = None
    try:
        code = post(endpoint.url, endpoint.secret, str(delivery.payload["id"]), body)
    except UnsafeURLError as exc:
        log.warning("webhook endpoint %s refused: %s", endpoint.pk, exc)
        if _record(delivery, hold, status=Status.FAILED, last_status_code=None, last_error=_short(exc)):
            _wake_next(delivery)
        return
    except (httpx.HTTPError, TransportError) as exc:
        error = _short(exc)
    else:
        if 200 <= code < 300:
            done = timezone.now()
            if _record(
                delivery,
                hold,
                status=Status.DELIVERED,
                last_status_code=code,
                last_error="",
                delivered_at=done,
            ):
                _wake_next(delivery)
            return
        error = f"the endpoint answered {code}"
    at = timezone.now() + timedelta(seconds=backoff(tries))
    if at > delivery.give_up_at:
        log.warning("webhook delivery %s failed after %d tries: %s", delivery.pk, tries, error)
        if _record(delivery, hold, status=Status.FAILED, last_status_code=code, last_error=error):
            _wake_next(delivery)
        return
    log.info("webhook delivery %s try %d failed, again at %s: %s", delivery.pk, tries, at.isoformat(), error)
    if _record(delivery, hold, next_attempt_at=at, last_status_code=code, last_error=error):
        enqueue(delivery.pk, at)


def sweep() -> int:
    """Enqueues pending deliveries whose message was lost (well past their time); how many."""
    late = timezone.now() - timedelta(seconds=float(hooks.config()["DEADLINE_SECONDS"]) + 60) - HOLD_MARGIN
    ids = list(
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lt=late)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in ids:
        publish(pk, None)
    return len(ids)


@shared_task(name="webhooks.deliver", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliver_task(delivery_id: int) -> None:
    """One try of a webhook delivery (`deliver`)."""
    deliver(delivery_id)


@shared_task(name="webhooks.sweep", ignore_result=True)
def sweep_task() -> int:
    """Beat's safety net for webhook deliveries whose message was lost."""
    return sweep()
