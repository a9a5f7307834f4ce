"""`/healthz`: whether the database, the broker and at least one worker are up, as JSON.

Anyone learns up or down (200 or 503, `{"status": "ok" | "down"}`); what is down, and the checks' details
(worker names, database vendor, broker transport, errors), only staff or a caller sending
`Authorization: Bearer <HEALTHZ_TOKEN>`. They also see `wallets`: whether the Open Payments settings can be
used, and the payments that failed in the last day for a reason a retry does not fix (an untrusted
certificate, a host that does not exist, a wallet refusing us), by what failed. That never makes the
marketplace "down": it is one wallet's problem, or a set-up one, not this process's health.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Count
from django.db.utils import Error as DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu.exceptions import OperationalError

from jobs.models import PaymentAttempt
from marketplace.celery import app
from marketplace.open_payments import open_payments_client

logger = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 1.5


def check_database() -> dict[str, object]:
    """Runs a trivial query on the default database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict[str, object]:
    """Opens (and closes) a fresh connection to the Celery broker."""
    with app.connection_for_write() as conn:
        # kombu adds `timeout` to time.time(): seconds as a float work; its stub says int.
        conn.ensure_connection(max_retries=1, timeout=PING_TIMEOUT_SECONDS)  # type: ignore[arg-type]
        return {"ok": True, "transport": conn.transport.driver_type}


def check_workers() -> dict[str, object]:
    """Pings the workers over the broker; at least one must answer."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=PING_TIMEOUT_SECONDS)  # type: ignore[arg-type]
        replies = app.control.ping(timeout=PING_TIMEOUT_SECONDS, connection=conn)
    names = sorted(name for reply in replies or () for name in reply)
    return {"ok": bool(names), "workers": names}


CHECKS: dict[str, Callable[[], dict[str, object]]] = {
    "database": check_database,
    "broker": check_broker,
    "workers": check_workers,
}


def check_wallets() -> dict[str, object]:
    """Whether the Open Payments client can be made from the settings, and the last day's payments that
    failed with a stated cause (`PaymentAttempt.error_code`): how many of each, and the latest."""
    try:
        open_payments_client()
        report: dict[str, object] = {"configured": True}
    except ImproperlyConfigured as exc:
        report = {"configured": False, "error": str(exc)}
    failed = PaymentAttempt.objects.filter(finished_at__gte=timezone.now() - timedelta(days=1)).exclude(
        error_code=""
    )
    counts = failed.values_list("error_code").annotate(count=Count("pk")).order_by("error_code")
    report["failures_last_day"] = dict(counts)
    latest = failed.order_by("-finished_at").values_list("error_code", "error_detail", "finished_at").first()
    if latest is not None:
        code, detail, at = latest
        report["latest_failure"] = {"code": code, "detail": detail, "at": at.isoformat() if at else None}
    return report


def run_check(name: str) -> dict[str, object]:
    """One check's result; a failure becomes `ok: false` with the error's class and message."""
    try:
        return CHECKS[name]()
    except (DatabaseError, OperationalError, OSError, TimeoutError) as exc:
        logger.warning("health check %s failed: %s", name, exc.__class__.__name__)
        return {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"}


def wallets_report() -> dict[str, object]:
    """`check_wallets`, or its error when the database cannot answer it."""
    try:
        return check_wallets()
    except DatabaseError as exc:
        return {"error": f"{exc.__class__.__name__}: {exc}"}


def shows_details(request: HttpRequest) -> bool:
    """Whether the caller presents the configured HEALTHZ_TOKEN as a bearer token, or is staff."""
    token: str = settings.HEALTHZ_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    # Compared as bytes: compare_digest refuses str with characters beyond ASCII.
    matches = hmac.compare_digest(presented.strip().encode(), token.encode())
    if token and scheme.lower() == "bearer" and matches:
        return True
    try:
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_active and user.is_staff)
    except DatabaseError:
        # The session lives in the database, which may be what is down: up or down is still answered.
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every check passes, 503 otherwise; what is down and why only for `shows_details`."""
    results = {name: run_check(name) for name in CHECKS}
    down = [name for name, result in results.items() if not result["ok"]]
    body: dict[str, object] = {"status": "ok" if not down else "down"}
    if shows_details(request):
        body.update(down=down, checks=results, wallets=wallets_report())
    return JsonResponse(body, status=503 if down else 200)
