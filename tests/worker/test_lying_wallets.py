"""Wallets that lie: whatever a wallet answers, the marketplace moves exactly the approved amount to the
provider's wallet, or nothing. The wallets here are the local wallet behind a proxy that rewrites one kind
of answer; each lie ends the attempt with a plain reason, the funder's money untouched, and no retries."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.db import transaction as django_transaction
from django.test import Client

from jobs import services as marketplace
from jobs.models import AttemptStatus, Budget, Job
from tests import services
from tests.worker.conftest import FUNDER_BALANCE, Stack, job_with_quote
from tests.worker.test_pipeline_faults import approve
from tests.worker.test_pipeline_flow import consent, wait_for_status
from testwallet.faults import route_name
from worker import checks, pipeline, tasks

pytestmark = [pytest.mark.redis, pytest.mark.slow]

BACKEND_PORT, PROXY_PORT = services.free_port(), services.free_port()
PUBLIC = f"http://127.0.0.1:{PROXY_PORT}"
Lie = Callable[[dict[str, Any]], None]


class LyingProxy(ThreadingHTTPServer):
    """Forwards every request to the local wallet and rewrites the answers of the routes in `lies`."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", PROXY_PORT), Forward)
        self.lies: dict[str, Lie] = {}


class Forward(BaseHTTPRequestHandler):
    server: LyingProxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # The Host header goes as received: the wallet checks our signature over the URL we asked for.
        headers = {name: value for name, value in self.headers.items() if name.lower() != "connection"}
        answer = httpx.request(
            self.command, f"http://127.0.0.1:{BACKEND_PORT}{self.path}", headers=headers, content=body
        )
        content = answer.content
        lie = self.server.lies.get(route_name(self.command, urlsplit(self.path).path) or "")
        if lie is not None and answer.status_code < 300:
            data = json.loads(content)
            lie(data)
            content = json.dumps(data).encode()
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = forward


@pytest.fixture
def proxy() -> Iterator[LyingProxy]:
    """The proxy the wallet's public URL points at, serving before the wallet starts."""
    server = LyingProxy()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def setting(key: str, value: object) -> Lie:
    return lambda data: data.update({key: value})


def amount(key: str, value: str) -> Lie:
    return lambda data: data[key].update(value=value)


LIES = [
    pytest.param(
        "incoming-payments.create",
        setting("walletAddress", f"{PUBLIC}/fiona"),
        checks.PROVIDER_LIED,
        id="another wallet's incoming payment",
    ),
    pytest.param(
        "incoming-payments.create",
        amount("incomingAmount", "99900"),
        checks.PROVIDER_AMOUNT,
        id="an incoming payment for another amount",
    ),
    pytest.param(
        "quotes.create",
        setting("receiver", f"{PUBLIC}/op/tenant/incoming-payments/{uuid.uuid4()}"),
        checks.QUOTE_LIED,
        id="a quote to another receiver",
    ),
    pytest.param(
        "quotes.create",
        amount("receiveAmount", "1"),
        checks.QUOTE_LIED,
        id="a quote receiving another amount",
    ),
    pytest.param(
        "quotes.create",
        amount("debitAmount", "99900"),
        checks.QUOTE_FEE.format(fee="$986.50", percent=20),
        id="a quote with a huge fee",
    ),
]


@pytest.mark.wallet(port=BACKEND_PORT, public_url=PUBLIC)
@pytest.mark.parametrize(("route", "lie", "reason"), LIES)
def test_a_lying_wallet_moves_no_money_and_ends_the_attempt_with_the_reason(
    proxy: LyingProxy, stack: Stack, route: str, lie: Lie, reason: str
) -> None:
    # given a wallet that lies in its answers on one route
    proxy.lies[route] = lie
    job, _ = job_with_quote(stack)
    stack.wallet.stats(reset=True)

    # when the funder approves
    with stack.worker():
        _, attempt = approve(job)
        attempt = wait_for_status(attempt.pk, AttemptStatus.FAILED)
        asked = stack.wallet.stats()["routes"]
        time.sleep(2)  # long enough for a retry to show

        # then the attempt ends with the plain reason, and nothing was asked again
        assert stack.wallet.stats()["routes"] == asked
    assert attempt.error == reason
    assert asked[route] == 1
    # and no money moved, nor could it: no link was made
    assert attempt.payment_url == ""
    assert stack.wallet.balance("fiona") == FUNDER_BALANCE
    assert stack.wallet.payments("fiona")["outgoingPayments"] == []


REFUND_LIES = [
    pytest.param(
        "incoming-payments.create",
        setting("incomingAmount", {"value": "99900", "assetCode": "USD", "assetScale": 2}),
        "The funder's wallet answered with a different amount; nothing was paid.",
        id="the funder's incoming payment asking an amount",
    ),
    pytest.param(
        "incoming-payments.create",
        setting("walletAddress", f"{PUBLIC}/pavel"),
        "The funder's wallet answered with a different payment than we asked for; nothing was paid.",
        id="another wallet's incoming payment",
    ),
    pytest.param(
        "quotes.create",
        amount("debitAmount", "99900"),
        checks.QUOTE_LIED,
        id="a quote debiting more than the refund",
    ),
]


@pytest.mark.wallet(port=BACKEND_PORT, public_url=PUBLIC)
@pytest.mark.parametrize(("route", "lie", "reason"), REFUND_LIES)
def test_a_lying_wallet_moves_no_refund_money_and_ends_the_refund_attempt_with_the_reason(
    proxy: LyingProxy, stack: Stack, route: str, lie: Lie, reason: str
) -> None:
    # given a paid job whose funder asked for 5.00 back and whose provider agreed
    job, _ = job_with_quote(stack)
    with stack.worker():
        browser, payment = approve(job)
        link = wait_for_status(payment.pk, AttemptStatus.AWAITING_AUTHORIZATION).payment_url
        # The proxy does not pass redirects on: the funder's browser goes to the wallet itself.
        finish = urlsplit(consent(link.replace(PUBLIC, f"http://127.0.0.1:{BACKEND_PORT}")))
        assert browser.get(f"{finish.path}?{finish.query}").status_code == 302
        wait_for_status(payment.pk, AttemptStatus.SUCCEEDED)
        balances = stack.wallet.balance("fiona"), stack.wallet.balance("pavel")
        refund = marketplace.refund_request(job_id=job.pk, funder=job.funder, amount=500, reason="")
        # when the wallets lie on one route while the refund's link is prepared
        proxy.lies[route] = lie
        with django_transaction.atomic():
            attempt = marketplace.refund_agree(
                refund_id=refund.pk, provider=refund.payment.quote.provider
            ).attempt
            tasks.generate_link.delay_on_commit(str(attempt.pk))
        attempt = wait_for_status(attempt.pk, AttemptStatus.FAILED)

    # then the refund attempt ends with the plain reason, no link was made and no money moved
    assert (attempt.error, attempt.payment_url) == (reason, "")
    assert (stack.wallet.balance("fiona"), stack.wallet.balance("pavel")) == balances
    assert stack.wallet.payments("pavel")["outgoingPayments"] == []
    refund.refresh_from_db()
    assert refund.status == "agreed"  # the provider may get a new link or decline


# --- budget payments ------------------------------------------------------------------------------------
#
# A budget pays without the funder looking at anything in their wallet, so the marketplace is the only
# one checking the answers. Lies on the quote are caught before anything is created at the wallet. A lie
# in the answer to the outgoing payment's creation comes after the wallet created the payment behind the
# proxy (the answer is rewritten, not the request): the wallet moved the approved amount to our incoming
# payment, once, and the marketplace cannot take that back. What it must do is refuse what it was told:
# the attempt ends failed with the reason (which tells the funder to check their wallet, not that nothing
# was paid), never succeeds, the job is not marked paid, and nothing is created or paid again.


def set_budget_through_proxy(stack: Stack, funder: User, amount: int) -> Budget:
    """The funder's monthly budget, its grant asked through the proxy; the funder consents at the wallet
    itself (the proxy does not pass redirects on) and comes back to our finish callback."""
    budget = marketplace.budget_create(funder=funder, amount=amount, interval="P1M", per_job_limit=None)
    tasks.request_budget_grant.delay(str(budget.pk))
    services.wait_until(lambda: budget_status(budget) == Budget.Status.AWAITING, 60, "the budget's link")
    budget.refresh_from_db()
    finish = urlsplit(
        httpx.get(
            budget.consent_url.replace(PUBLIC, f"http://127.0.0.1:{BACKEND_PORT}"),
            follow_redirects=False,
            timeout=10,
        ).headers["location"]
    )
    browser = Client()
    browser.force_login(funder)
    assert browser.get(f"{finish.path}?{finish.query}").status_code == 302
    services.wait_until(lambda: budget_status(budget) == Budget.Status.ACTIVE, 60, "the budget to be active")
    return budget


def budget_status(budget: Budget) -> str:
    return Budget.objects.values_list("status", flat=True).get(pk=budget.pk)


BUDGET_PAYMENT_LIES = [
    pytest.param(amount("debitAmount", "1300"), id="debiting another amount"),
    pytest.param(
        setting("receiver", f"{PUBLIC}/op/tenant/incoming-payments/{uuid.uuid4()}"), id="to another receiver"
    ),
    pytest.param(setting("walletAddress", f"{PUBLIC}/pavel"), id="from another wallet"),
]


@pytest.mark.wallet(port=BACKEND_PORT, public_url=PUBLIC)
@pytest.mark.parametrize("lie", BUDGET_PAYMENT_LIES)
def test_a_budget_payment_the_wallet_answers_differently_is_refused_and_never_paid_again(
    proxy: LyingProxy, stack: Stack, lie: Lie
) -> None:
    # given a funder with an active budget of 100.00, and a wallet lying about the outgoing payments it
    # creates
    job, quote = job_with_quote(stack)
    with stack.worker():
        budget = set_budget_through_proxy(stack, job.funder, 10000)
        proxy.lies["outgoing-payments.create"] = lie
        stack.wallet.stats(reset=True)

        # when the funder approves a quote of 12.50
        _, attempt = approve(job)
        attempt = wait_for_status(attempt.pk, AttemptStatus.FAILED)
        asked = stack.wallet.stats()["routes"]
        time.sleep(2)  # long enough for a retry or a poll to show

        # then the attempt ends with the reason, and nothing was asked again
        assert stack.wallet.stats()["routes"] == asked
    assert asked["outgoing-payments.create"] == 1
    assert (attempt.error, attempt.error_code) == (checks.PAYMENT_LIED, "wallet_answer")
    # it was the budget's payment (no link, no fallback), and the answer was not kept
    assert (attempt.budget_id, attempt.budget_fallback, attempt.payment_url) == (budget.pk, "", "")
    assert attempt.outgoing_payment_url == ""
    job.refresh_from_db()
    assert job.status == Job.Status.OPEN
    # and a wallet that lied about a payment from the budget is not trusted with the next: it ended
    budget.refresh_from_db()
    assert (budget.status, budget.end_reason) == (Budget.Status.ENDED, pipeline.BUDGET_LIED)
    # and the wallet's ledger holds the one payment it made behind the proxy, exactly as approved (12.50
    # from the funder to our incoming payment, carrying our idempotency id): nothing more was sent
    stack.wallet.settle()
    (made,) = stack.wallet.payments("fiona")["outgoingPayments"]
    assert made["receiver"] == attempt.incoming_payment_url
    assert (made["debitAmount"]["value"], made["metadata"]["idempotencyId"]) == (
        str(quote.amount_value),
        str(attempt.idempotency_id),
    )
    assert (stack.wallet.balance("fiona"), stack.wallet.balance("pavel")) == (
        FUNDER_BALANCE - quote.amount_value,
        quote.amount_value,
    )


BUDGET_QUOTE_LIES = [
    pytest.param(
        setting("receiver", f"{PUBLIC}/op/tenant/incoming-payments/{uuid.uuid4()}"),
        checks.QUOTE_LIED,
        id="a quote to another receiver",
    ),
    pytest.param(
        amount("debitAmount", "99900"),
        checks.QUOTE_FEE.format(fee="$986.50", percent=20),
        id="a quote debiting far more",
    ),
    pytest.param(
        amount("debitAmount", "1"),
        checks.QUOTE_LIED,
        id="a quote debiting less than it delivers",
    ),
]


@pytest.mark.wallet(port=BACKEND_PORT, public_url=PUBLIC)
@pytest.mark.parametrize(("lie", "reason"), BUDGET_QUOTE_LIES)
def test_a_budget_attempt_whose_quote_lies_ends_before_any_outgoing_payment(
    proxy: LyingProxy, stack: Stack, lie: Lie, reason: str
) -> None:
    # given a funder with an active budget of 100.00, and a wallet lying in its quotes
    job, _ = job_with_quote(stack)
    with stack.worker():
        budget = set_budget_through_proxy(stack, job.funder, 10000)
        proxy.lies["quotes.create"] = lie
        stack.wallet.stats(reset=True)

        # when the funder approves
        _, attempt = approve(job)
        attempt = wait_for_status(attempt.pk, AttemptStatus.FAILED)
        asked = stack.wallet.stats()["routes"]
        time.sleep(2)

        # then the attempt ends with the reason, asked once, and no outgoing payment was even asked for
        assert stack.wallet.stats()["routes"] == asked
    assert (attempt.error, attempt.budget_id, attempt.payment_url) == (reason, budget.pk, "")
    assert asked["quotes.create"] == 1
    assert "outgoing-payments.create" not in asked
    assert attempt.outgoing_payment_requested_at is None
    # and no money moved
    assert (stack.wallet.balance("fiona"), stack.wallet.balance("pavel")) == (FUNDER_BALANCE, 0)
    assert stack.wallet.payments("fiona")["outgoingPayments"] == []
    assert budget_status(budget) == Budget.Status.ACTIVE
