"""`/metrics` for Prometheus: protected like the rest of ops, money counted from the payment events, and
after one paid job on the real stack, the counters moved by exactly one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from jobs import states
from jobs.models import AttemptStatus, Job
from marketplace.metrics import route_of
from tests.jobs import factories as f
from tests.services import wait_until
from tests.worker.conftest import Stack, job_with_quote, stack  # noqa: F401 - the fixture of the real stack

TOKEN = "metrics-token-for-the-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def scrape(client: Client | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of `/metrics` (name and labels → value), scraped with the bearer token."""
    response = (client or Client()).get(reverse("metrics"), headers=BEARER)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def token(settings) -> None:  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = TOKEN


@pytest.mark.django_db
def test_the_metrics_answer_staff_and_the_token_only(settings) -> None:  # type: ignore[no-untyped-def]
    # given a token configured, a staff member and someone who is not
    settings.METRICS_TOKEN = TOKEN
    url = reverse("metrics")
    staff = User.objects.create_user("olga", password=f.PASSWORD, is_staff=True)
    # when each asks
    anonymous = Client().get(url)
    wrong = Client().get(url, headers={"Authorization": "Bearer not-the-token"})
    person = f.logged_in(f.funder()).get(url)
    # then only staff and the right token get the metrics
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    assert (wrong.status_code, person.status_code) == (403, 403)
    assert f.logged_in(staff).get(url).status_code == 200
    assert Client().get(url, headers=BEARER).status_code == 200
    # and with no token configured, no bearer token opens them
    settings.METRICS_TOKEN = ""
    assert Client().get(url, headers={"Authorization": "Bearer "}).status_code == 403


@pytest.mark.django_db
def test_links_payments_and_refunds_are_counted_from_the_events(token: None) -> None:
    # given a paid job, a link that expired and a failed refund attempt
    before = scrape()
    funder, provider = f.funder(), f.provider()
    quote = f.quote(f.job(funder), provider)
    paid = f.attempt(quote, AttemptStatus.GENERATING)
    for status in ("awaiting_authorization", "authorized", "processing", "succeeded"):
        assert states.transition(paid.pk, to=status, received_amount=1250)
    other = f.attempt(f.quote(f.job(funder, title="Other"), provider), AttemptStatus.GENERATING)
    assert states.transition(other.pk, to="awaiting_authorization")
    assert states.transition(other.pk, to="expired")
    # when scraped
    after = scrape()

    # then each counter moved by what happened
    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("marketplace_payment_links_total", kind="payment") == 2
    assert moved("marketplace_payments_total", status="succeeded") == 1
    assert moved("marketplace_payments_total", status="expired") == 1
    assert moved("marketplace_payments_total", status="failed") == 0
    assert value(after, "marketplace_refunds_total", status="succeeded") == 0


@pytest.mark.parametrize(
    ("method", "url", "route"),
    [
        ("POST", "https://wallet.example/pavel/incoming-payments", "incoming-payments"),
        ("GET", "https://wallet.example/pavel/incoming-payments/4b1c-9", "incoming-payments"),
        ("POST", "https://wallet.example/fiona/quotes", "quotes"),
        ("POST", "https://wallet.example/fiona/outgoing-payments", "outgoing-payments"),
        ("POST", "https://auth.wallet.example/", "grant"),
        ("POST", "https://auth.wallet.example/continue/c-1", "grant-continue"),
        ("DELETE", "https://auth.wallet.example/token/t-1", "token"),
        ("GET", "https://wallet.example/fiona", "wallet-address"),
        ("GET", "https://wallet.example/fiona/jwks.json", "wallet-keys"),
    ],
)
def test_a_wallet_call_is_named_by_its_resource_never_its_ids(method: str, url: str, route: str) -> None:
    assert route_of(method, url) == route


@pytest.mark.redis
@pytest.mark.slow
def test_one_paid_job_moves_the_counters_by_exactly_one(
    stack: Stack,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    # given the worker writing its metrics where the web's endpoint reads them, and a first scrape
    shared = tmp_path / "prometheus"
    shared.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    settings.METRICS_TOKEN = TOKEN
    job, quote = job_with_quote(stack)
    funder = f.logged_in(job.funder)
    before = scrape()
    with stack.worker(PROMETHEUS_MULTIPROC_DIR=str(shared)):
        # when the funder approves, consents in the wallet and comes back
        funder.post(reverse("quote-approve", kwargs={"job_id": job.pk, "quote_id": quote.pk}))
        attempt = job.attempts.get()
        wait_until(lambda: reload(attempt) == "awaiting_authorization", 60, "the link")
        attempt.refresh_from_db()
        consent = httpx.get(attempt.payment_url, follow_redirects=False, timeout=10)
        finish = urlsplit(consent.headers["location"])
        assert funder.get(f"{finish.path}?{finish.query}").status_code == 302
        wait_until(lambda: Job.objects.get(pk=job.pk).status == "paid", 60, "the payment")
        # then, scraped again, the links and paid counters moved by exactly one
        after = scrape()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("marketplace_payment_links_total", kind="payment") == 1
    assert moved("marketplace_payments_total", status="succeeded") == 1
    for status in ("failed", "declined", "expired", "cancelled"):
        assert moved("marketplace_payments_total", status=status) == 0
    # and what only the worker saw reached the endpoint too: its steps and its calls to the wallets
    for step in ("generate_link", "continue_grant"):
        assert (
            moved("marketplace_task_duration_seconds_count", task=f"payments.{step}", outcome="success") >= 1
        )
    calls = sum(
        n
        for (name, labels), n in after.items()
        if name == "marketplace_wallet_call_duration_seconds_count"
        and ("route", "outgoing-payments") in labels
    )
    assert calls >= 1


def reload(attempt) -> str:  # type: ignore[no-untyped-def]
    attempt.refresh_from_db(fields=["status"])
    return str(attempt.status)


def test_the_dashboard_and_the_docs_name_only_metrics_that_exist() -> None:
    # given the sample dashboard and the metrics page
    root = Path(__file__).resolve().parents[2]
    dashboard = json.loads((root / "docs" / "grafana-dashboard.json").read_text())
    docs = (root / "docs" / "metrics.md").read_text()
    # then every marketplace metric a panel queries is one we serve, and documented
    queried = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"marketplace_[a-z_]+", target["expr"])
    }
    served = {
        "marketplace_payment_links_total",
        "marketplace_payments_total",
        "marketplace_refunds_total",
        "marketplace_queue_depth",
        "marketplace_task_duration_seconds",
        "marketplace_task_retries_total",
        "marketplace_reconciler_redrives_total",
        "marketplace_wallet_call_duration_seconds",
    }
    assert queried == served
    assert all(f"`{name}`" in docs for name in served)
