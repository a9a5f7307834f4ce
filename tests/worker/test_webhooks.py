"""Status webhooks: every payment event reaches every endpoint once (by id), in order per job, signed;
endpoints on private addresses are refused; a slow endpoint is cut at the deadline; the admin resends."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from jobs import states
from jobs.models import AttemptStatus, PaymentEvent, WebhookDelivery, WebhookEndpoint
from jobs.webhooks import event_payload
from tests import services
from tests.jobs import factories as f
from worker import events, webhooks

SECRET = "whsec_test-secret-0123456789"


class Receiver:
    """A local HTTP endpoint recording every request; answers `codes` in turn, then 200, after `delay`."""

    def __init__(self, codes: list[int] | None = None, delay: float = 0.0) -> None:
        self.codes, self.delay = list(codes or []), delay
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.connections = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                with receiver.lock:
                    code = receiver.codes.pop(0) if receiver.codes else 200
                    receiver.requests.append((dict(self.headers), body, code))
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                with receiver.lock:
                    receiver.connections += 1
                return True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    made: list[Receiver] = []

    def make(codes: list[int] | None = None, delay: float = 0.0) -> Receiver:
        made.append(Receiver(codes, delay))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def verify(secret: str, header: str, body: bytes) -> bool:
    """The check docs/webhooks.md tells integrators to make."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def payment_events() -> list[PaymentEvent]:
    """A payment going from generating to succeeded: five events, settled (written 10 s ago)."""
    attempt = f.attempt(f.quote(f.job(f.funder()), f.provider(), amount_value=4500))
    states.attempt_event(attempt.pk, AttemptStatus.GENERATING)
    for status in ("awaiting_authorization", "authorized", "processing", "succeeded"):
        assert states.transition(attempt.pk, to=status, received_amount=4500)
    PaymentEvent.objects.update(created_at=timezone.now() - timedelta(seconds=10))
    return list(PaymentEvent.objects.order_by("id"))


@pytest.fixture
def only_webhooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dispatcher hands events to the webhooks' consumer alone."""
    monkeypatch.setattr(events, "CONSUMERS", {"webhooks": webhooks.on_event})


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, Any]]:
    """The `webhooks.deliver` messages that would have been sent, for tests calling the task directly."""
    sent: list[tuple[int, Any]] = []
    monkeypatch.setattr(webhooks, "publish", lambda delivery_id, at: sent.append((delivery_id, at)))
    # These tests' transactions never commit: what a delivery enqueues is recorded at once.
    monkeypatch.setattr(webhooks, "enqueue", lambda delivery_id, at=None: sent.append((delivery_id, at)))
    return sent


@pytest.fixture
def local_hosts(settings: Any) -> None:
    settings.WEBHOOKS = {**settings.WEBHOOKS, "HTTP_HOSTS": ["127.0.0.1"], "PRIVATE_HOSTS": ["127.0.0.1"]}


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_receiver_failing_twice_gets_every_event_once_in_order_signed(
    receiver_factory: Any, celery_queue: str, tmp_path: Path, only_webhooks: None
) -> None:
    # given an endpoint answering 500 twice, then 200, and a real worker allowed to reach it on 127.0.0.1
    receiver = receiver_factory(codes=[500, 500])
    WebhookEndpoint.objects.create(url=receiver.url, secret=SECRET, description="ERP")
    inactive = WebhookEndpoint.objects.create(url=receiver.url, secret=SECRET, active=False)
    made = payment_events()
    worker_env = {
        "WEBHOOK_HTTP_HOSTS": "127.0.0.1",
        "WEBHOOK_PRIVATE_HOSTS": "127.0.0.1",
        "WEBHOOK_RETRY_MIN_SECONDS": "1",
        "WEBHOOK_DEADLINE_SECONDS": "5",
    }
    with services.celery_worker(
        concurrency=2,
        database=services.database_url(connection.settings_dict),
        queue=celery_queue,
        log=tmp_path / "worker.log",
        extra_env=worker_env,
    ):
        # when the dispatcher hands the five events over, twice (the second finds nothing new)
        assert events.dispatch() == {"webhooks": 5}
        assert events.dispatch() == {"webhooks": 0}
        services.wait_until(
            lambda: WebhookDelivery.objects.filter(status="delivered").count() == 5, 60, "5 deliveries"
        )
    # then the receiver got the first event three times (two failures) and every event once with a 200,
    # in the order they happened, each signed with the endpoint's secret and carrying its id
    ids = [str(event.event_id) for event in made]
    got = [(json.loads(body)["id"], code) for _, body, code in receiver.requests]
    assert got == [(ids[0], 500), (ids[0], 500), (ids[0], 200)] + [(id_, 200) for id_ in ids[1:]]
    for headers, body, _ in receiver.requests:
        assert verify(SECRET, headers["Marketplace-Signature"], body)
        assert headers["Marketplace-Event-Id"] == json.loads(body)["id"]
        assert headers["Content-Type"] == "application/json"
    assert [json.loads(body)["type"] for _, body, code in receiver.requests if code == 200] == [
        "payment.generating",
        "payment.awaiting_authorization",
        "payment.authorized",
        "payment.processing",
        "payment.succeeded",
    ]
    log = WebhookDelivery.objects.order_by("event_id")
    assert [(d.attempts, d.status, d.last_status_code, d.last_error) for d in log] == [
        (3, "delivered", 200, ""),
        *[(1, "delivered", 200, "")] * 4,
    ]
    assert not WebhookDelivery.objects.filter(endpoint=inactive).exists()


@pytest.mark.django_db
def test_a_receiver_on_a_private_address_is_refused_and_nothing_is_sent(
    receiver_factory: Any, settings: Any, published: list[tuple[int, Any]], only_webhooks: None
) -> None:
    # given an endpoint on a loopback address that WEBHOOK_PRIVATE_HOSTS does not list (plain http allowed)
    settings.WEBHOOKS = {**settings.WEBHOOKS, "HTTP_HOSTS": ["127.0.0.1"], "PRIVATE_HOSTS": []}
    receiver = receiver_factory()
    WebhookEndpoint.objects.create(url=receiver.url, secret=SECRET)
    payment_events()
    events.dispatch()
    first = WebhookDelivery.objects.order_by("event_id").first()
    assert first is not None
    # when its first delivery is tried
    webhooks.deliver(first.pk)
    # then it failed at once with the guard's reason, and no connection was ever made
    first.refresh_from_db()
    assert (first.status, first.attempts, first.last_status_code, first.last_error) == (
        "failed",
        1,
        None,
        "UnsafeURLError: refused host '127.0.0.1': it resolves to a loopback address 127.0.0.1",
    )
    assert (receiver.connections, receiver.requests) == (0, [])


@pytest.fixture
def admin_client(client: Any) -> Any:
    client.force_login(User.objects.create_superuser("root", "root@example.com", f.PASSWORD))
    return client


@pytest.mark.django_db
def test_the_admin_refuses_an_endpoint_on_a_private_address_and_shows_a_new_secret_once(
    admin_client: Any,
) -> None:
    # given an operator adding endpoints
    url = reverse("admin:jobs_webhookendpoint_add")
    # when one is on a private address
    refused = admin_client.post(
        url, {"url": "https://10.0.0.7/hooks", "description": "internal", "active": "on"}
    )
    # then the form says why and nothing is saved
    assert refused.status_code == 200
    assert "refused host &#x27;10.0.0.7&#x27;: it resolves to a private address 10.0.0.7" in refused.text
    assert not WebhookEndpoint.objects.exists()
    # when one is on a public address with no secret given
    added = admin_client.post(url, {"url": "https://93.184.215.14/hooks", "active": "on"}, follow=True)
    # then it is saved with a generated secret, shown once, and never on its page
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) == 49
    assert endpoint.secret in added.text
    page = admin_client.get(reverse("admin:jobs_webhookendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200 and endpoint.secret not in page.text


@pytest.mark.django_db
def test_a_slow_receiver_is_cut_at_the_deadline_and_retried_later(
    receiver_factory: Any,
    settings: Any,
    local_hosts: None,
    published: list[tuple[int, Any]],
    only_webhooks: None,
) -> None:
    # given an endpoint taking 5 s to answer and a one-second deadline
    settings.WEBHOOKS = {**settings.WEBHOOKS, "DEADLINE_SECONDS": 1, "RETRY_MIN_SECONDS": 5}
    receiver = receiver_factory(delay=5)
    WebhookEndpoint.objects.create(url=receiver.url, secret=SECRET)
    payment_events()
    events.dispatch()
    first = WebhookDelivery.objects.order_by("event_id").first()
    assert first is not None
    published.clear()
    # when its first delivery is tried
    started = time.monotonic()
    webhooks.deliver(first.pk)
    took = time.monotonic() - started
    # then the try ended at the deadline and the delivery waits 2.5-5 s for its next try
    assert 0.9 < took < 2.0
    first.refresh_from_db()
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, None)
    assert first.last_error.startswith("ReadTimeout")
    assert published == [(first.pk, first.next_attempt_at)]
    wait = (first.next_attempt_at - timezone.now()).total_seconds()
    assert 2.0 < wait <= 5.0


@pytest.mark.django_db
def test_a_later_event_waits_behind_a_pending_one_and_goes_when_it_is_given_up(
    receiver_factory: Any,
    settings: Any,
    local_hosts: None,
    published: list[tuple[int, Any]],
    only_webhooks: None,
) -> None:
    # given an endpoint that answers 503 and deliveries that give up at their first failure
    settings.WEBHOOKS = {**settings.WEBHOOKS, "GIVE_UP_SECONDS": 0}
    receiver = receiver_factory(codes=[503])
    WebhookEndpoint.objects.create(url=receiver.url, secret=SECRET)
    payment_events()
    events.dispatch()
    first, second = WebhookDelivery.objects.order_by("event_id")[:2]
    published.clear()
    # when the second event's delivery runs before the first's
    webhooks.deliver(second.pk)
    # then it sends nothing and waits a second behind the first
    second.refresh_from_db()
    assert (second.attempts, receiver.requests, published) == (0, [], [(second.pk, second.next_attempt_at)])
    # when the first is tried and fails for good
    published.clear()
    webhooks.deliver(first.pk)
    # then it has failed with the answer, and the second is woken at once
    first.refresh_from_db()
    assert (first.status, first.last_status_code, first.last_error) == (
        "failed",
        503,
        "the endpoint answered 503",
    )
    assert published == [(second.pk, None)]


@pytest.mark.django_db
def test_resend_from_the_admin_requeues_a_delivery(
    admin_client: Any,
    published: list[tuple[int, Any]],
    only_webhooks: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a delivery that was delivered
    WebhookEndpoint.objects.create(url="https://93.184.215.14/hooks", secret=SECRET)
    payment_events()
    events.dispatch()
    delivery = WebhookDelivery.objects.order_by("event_id").first()
    assert delivery is not None
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="delivered", attempts=2, last_status_code=200, give_up_at=timezone.now()
    )
    published.clear()
    # when the operator resends it from the delivery log
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(
            reverse("admin:jobs_webhookdelivery_changelist"),
            {"action": "resend", "_selected_action": [str(delivery.pk)]},
            follow=True,
        )
    # then it is pending again, due now, with a new day of retries, and its task is enqueued
    assert "1 deliveries queued to be sent again." in answer.text
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 2)
    assert abs((delivery.next_attempt_at - timezone.now()).total_seconds()) < 5
    assert abs((delivery.give_up_at - timezone.now()).total_seconds() - 86400) < 5
    assert published == [(delivery.pk, None)]


@pytest.mark.django_db
def test_an_event_payload_says_what_happened_and_nothing_secret() -> None:
    # given a paid attempt holding its grant's tokens, nonces, interact_ref and payment link
    attempt = f.attempt(f.quote(f.job(f.funder()), f.provider(), amount_value=1250), AttemptStatus.SUCCEEDED)
    event = PaymentEvent.objects.create(
        type="payment.succeeded", job=attempt.job, attempt=attempt, status="succeeded"
    )
    # when its payload is made
    payload = event_payload(event)
    # then it is the documented shape, with the amounts and no secret
    assert payload == {
        "id": str(event.event_id),
        "type": "payment.succeeded",
        "created": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": {
            "jobId": attempt.job_id,
            "attemptId": str(attempt.pk),
            "refundId": None,
            "kind": "payment",
            "status": "succeeded",
            "amount": {"value": "1300", "assetCode": "USD", "assetScale": 2, "formatted": "$13.00"},
            "receiveAmount": {"value": "1250", "assetCode": "USD", "assetScale": 2, "formatted": "$12.50"},
            "error": None,
        },
    }
    text = json.dumps(payload)
    assert "SECRET" not in text and "interact" not in text and "wallet.example" not in text
