"""Prometheus metrics at `GET /metrics`, for staff or a scraper sending `Authorization: Bearer
<METRICS_TOKEN>` (docs/metrics.md names every metric and why each is counted where it is).

Money outcomes (links made, payments and refunds by final status) are counted from the payment events in
the database at scrape time: exact, and the same whichever machine did the work. Queue depth is asked of
the broker at scrape time. What only a worker process sees (step durations, wallet calls, retries,
reconciler re-drives) is in prometheus_client's metrics below: with PROMETHEUS_MULTIPROC_DIR set (one
directory shared by the web and worker processes of a machine) the web's endpoint adds up every
process's; without it, each process's own.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger("marketplace.metrics")

FINAL = ("succeeded", "failed", "declined", "expired", "cancelled")
STEP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)

TASK_SECONDS = Histogram(
    "marketplace_task_duration_seconds",
    "How long one run of a task took (a pipeline step, the reconciler, an email), by outcome.",
    ["task", "outcome"],
    buckets=STEP_BUCKETS,
)
TASK_RETRIES = Counter(
    "marketplace_task_retries_total",
    "Task runs that asked to run again later (a wallet's wait, a busy attempt, a transient failure).",
    ["task"],
)
REDRIVES = Counter(
    "marketplace_reconciler_redrives_total",
    "Steps the reconciler sent again because their message was lost or their attempt went stale.",
    ["step"],
)
WALLET_CALL_SECONDS = Histogram(
    "marketplace_wallet_call_duration_seconds",
    "Open Payments calls to wallets by route, method and HTTP status ('none': no answer).",
    ["route", "method", "status"],
    buckets=CALL_BUCKETS,
)

# The path segment (or its last one) → the route label: a handful of values, never an id.
_ROUTES = (
    ("incoming-payments", "incoming-payments"),
    ("outgoing-payments", "outgoing-payments"),
    ("quotes", "quotes"),
    ("continue", "grant-continue"),
    ("token", "token"),
)
_WALLET_DOCS = re.compile(r"/(jwks\.json|\.well-known/[^/]+)$")


def route_of(method: str, url: str) -> str:
    """A low-cardinality name for the Open Payments call to `url`: the resource it reaches."""
    path = re.sub(r"^[a-z]+://[^/]+", "", url.split("?", 1)[0]).rstrip("/")
    segments = path.split("/")
    for segment, route in _ROUTES:
        if segment in segments:
            return route
    if _WALLET_DOCS.search(path):
        return "wallet-keys"
    return "grant" if method == "POST" else "wallet-address"


def wallet_call(method: str, url: str, status: int | None, seconds: float) -> None:
    """The Open Payments client's `on_call` hook: times every call to a wallet."""
    try:
        WALLET_CALL_SECONDS.labels(route_of(method, url), method, str(status or "none")).observe(seconds)
    except Exception:  # a metric must never fail a payment
        log.exception("wallet call not counted")


class EventCollector(Collector):
    """Links, payments and refunds by final status, counted from the payment events at scrape time."""

    def collect(self) -> Iterator[Metric]:
        from jobs.models import PaymentEvent

        counts = dict(
            PaymentEvent.objects.values_list("type").annotate(n=Count("id")).values_list("type", "n")
        )
        links = CounterMetricFamily(
            "marketplace_payment_links",
            "Payment links made (an attempt reached its wallet's consent).",
            labels=["kind"],
        )
        links.add_metric(["payment"], counts.get("payment.awaiting_authorization", 0))
        links.add_metric(["refund"], counts.get("refund_attempt.awaiting_authorization", 0))
        yield links
        for prefix, name, what in (
            ("payment", "marketplace_payments", "Payment attempts that ended, by final status."),
            ("refund_attempt", "marketplace_refunds", "Refund attempts that ended, by final status."),
        ):
            family = CounterMetricFamily(name, what, labels=["status"])
            for status in FINAL:
                family.add_metric([status], counts.get(f"{prefix}.{status}", 0))
            yield family


class QueueCollector(Collector):
    """Messages waiting in the Celery queue, asked of the broker at scrape time."""

    def collect(self) -> Iterator[Metric]:
        from marketplace.celery import app

        depth = GaugeMetricFamily(
            "marketplace_queue_depth", "Task messages waiting in the queue.", labels=["queue"]
        )
        queue = app.conf.task_default_queue
        try:
            with app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
                # Redis and RabbitMQ channels both answer (name, messages, consumers); kombu's stub
                # types the channel as the bare interface.
                channel: Any = conn.default_channel
                _, waiting, _ = channel.queue_declare(queue=queue, passive=True)
        except Exception as exc:  # a broker away, or a queue not declared yet: no figure this time
            log.info("queue depth unknown: %s", type(exc).__name__)
            return
        depth.add_metric([queue], waiting)
        yield depth


def exposition() -> bytes:
    """Every metric, in Prometheus's text format."""
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(EventCollector())
    scraped.register(QueueCollector())
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if shared:
        MultiProcessCollector(scraped, path=shared)  # type: ignore[no-untyped-call]
        return generate_latest(scraped)
    return generate_latest(REGISTRY) + generate_latest(scraped)


def allowed(request: HttpRequest) -> bool:
    """Staff, or a caller presenting METRICS_TOKEN as a bearer token."""
    token: str = settings.METRICS_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    # Compared as bytes: compare_digest refuses str with characters beyond ASCII.
    if (
        token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(presented.strip().encode(), token.encode())
    ):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The metrics; a bearer token that does not match gets 403, a browser the log-in page."""
    if not allowed(request):
        if "Authorization" in request.headers or request.user.is_authenticated:
            return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
        return redirect_to_login(request.get_full_path(), "admin:login")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
