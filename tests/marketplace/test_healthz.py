"""`/healthz` reports the database, the broker and the workers: up or down to anyone, the details to
staff and to a caller presenting HEALTHZ_TOKEN."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from jobs.models import AttemptStatus, PaymentAttempt
from marketplace import health
from marketplace.celery import app
from marketplace.open_payments import open_payments_client
from payments import generate_private_key, private_key_pem
from tests.jobs import factories as f
from tests.services import free_port

TOKEN = "healthz-token-for-the-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def healthz_token(settings) -> None:  # type: ignore[no-untyped-def]
    settings.HEALTHZ_TOKEN = TOKEN


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_healthz_is_200_when_database_broker_and_a_worker_are_up(worker, client: Client) -> None:
    # given a database, Redis and a running worker

    # when the monitoring asks with its token
    response = client.get("/healthz", headers=BEARER)

    # then
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["down"] == []
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"] == {"ok": True, "transport": "redis"}
    assert len(body["checks"]["workers"]["workers"]) == 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_naming_the_broker_when_the_broker_url_points_at_a_dead_port(
    redis_url: str, client: Client
) -> None:
    # given a broker URL at a port nothing listens on
    dead = f"redis://127.0.0.1:{free_port()}/0"
    previous = app.conf.broker_url
    app.conf.broker_url = dead
    try:
        # when
        response = client.get("/healthz", headers=BEARER)
    finally:
        app.conf.broker_url = previous

    # then the broker (and so the workers behind it) are named as down; the database is fine
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["down"] == ["broker", "workers"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert "Error" in body["checks"]["broker"]["error"]
    assert response["Cache-Control"].startswith("max-age=0")


# Who learns what (the checks themselves stubbed: these tests are about the answer, not the services)

UP = {
    "database": lambda: {"ok": True, "vendor": "postgresql"},
    "broker": lambda: {"ok": True, "transport": "redis"},
    "workers": lambda: {"ok": True, "workers": ["celery@web-1"]},
}
WALLETS = {"configured": True, "failures_last_day": {}}
DETAILS = {
    "status": "ok",
    "down": [],
    "checks": {
        "database": {"ok": True, "vendor": "postgresql"},
        "broker": {"ok": True, "transport": "redis"},
        "workers": {"ok": True, "workers": ["celery@web-1"]},
    },
    "wallets": WALLETS,
}


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """The health checks, all up unless a test replaces one."""
    stubbed = dict(UP)
    monkeypatch.setattr(health, "CHECKS", stubbed)
    monkeypatch.setattr(health, "check_wallets", lambda: WALLETS)
    yield stubbed


def test_an_anonymous_caller_learns_only_that_it_is_up(checks, client: Client) -> None:
    # when
    response = client.get("/healthz")

    # then neither the workers' names, nor the database vendor, nor the broker transport
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_an_anonymous_caller_learns_only_that_it_is_down(checks, client: Client) -> None:
    # given the broker down
    def broker_down() -> dict[str, object]:
        raise OSError("Connection refused to redis://10.0.0.5:6379")

    checks["broker"] = broker_down

    # when
    response = client.get("/healthz")

    # then not what is down, nor the error (it names an internal address)
    assert response.status_code == 503
    assert response.json() == {"status": "down"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-the-token"},
        {"Authorization": f"Token {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer jeton-accentué"},
    ],
)
def test_without_the_token_the_answer_is_up_or_down_only(checks, client: Client, headers) -> None:  # type: ignore[no-untyped-def]
    # when
    response = client.get("/healthz", headers=headers)

    # then
    assert response.json() == {"status": "ok"}


def test_the_configured_token_gets_every_detail(checks, client: Client) -> None:
    # when
    response = client.get("/healthz", headers=BEARER)

    # then
    assert response.status_code == 200
    assert response.json() == DETAILS


def test_with_no_token_configured_an_empty_bearer_gets_nothing_more(checks, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    # given no HEALTHZ_TOKEN
    settings.HEALTHZ_TOKEN = ""

    # when
    response = client.get("/healthz", headers={"Authorization": "Bearer "})

    # then
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_staff_get_every_detail_and_other_people_do_not(checks, client: Client) -> None:
    # given a staff member and a person who is not
    staff = User.objects.create_user("sam", password="a-long-test-password-42", is_staff=True)
    person = User.objects.create_user("pat", password="a-long-test-password-42")

    # when each asks, logged in
    client.force_login(staff)
    as_staff = client.get("/healthz").json()
    client.force_login(person)
    as_person = client.get("/healthz").json()

    # then
    assert as_staff == DETAILS
    assert as_person == {"status": "ok"}


@pytest.mark.django_db
def test_the_wallets_report_counts_the_last_days_failures_by_cause(settings) -> None:  # type: ignore[no-untyped-def]
    # given two payments that failed on an untrusted certificate today, one on a missing host two days ago,
    # and an Open Payments client that cannot be made (its CA bundle is missing)
    detail = "TLS certificate not trusted: certificate verify failed (GET https://wallet.example/f)"
    now = timezone.now()
    funder, provider = f.funder(), f.provider()
    for code, ended in [
        ("certificate", now - timedelta(hours=2)),
        ("certificate", now),
        ("dns", now - timedelta(days=2)),
    ]:
        attempt = f.attempt(f.quote(f.job(funder), provider), AttemptStatus.FAILED)
        PaymentAttempt.objects.filter(pk=attempt.pk).update(
            error_code=code, error_detail=detail, finished_at=ended
        )
    settings.OPEN_PAYMENTS = {
        **settings.OPEN_PAYMENTS,
        "CLIENT_WALLET_ADDRESS": "https://marketplace.example/me",
        "KEY_ID": "k1",
        "PRIVATE_KEY": base64.b64encode(private_key_pem(generate_private_key())).decode(),
        "CA_BUNDLE": "/nowhere/ca.pem",
    }
    open_payments_client.cache_clear()

    # when ops look
    report = health.check_wallets()
    open_payments_client.cache_clear()

    # then
    assert report == {
        "configured": False,
        "error": "Open Payments is not configured: CA bundle '/nowhere/ca.pem' cannot be used: no such file.",
        "failures_last_day": {"certificate": 2},
        "latest_failure": {"code": "certificate", "detail": detail, "at": now.isoformat()},
    }
