"""Non-interactive grant tokens are shared by every attempt: requested once, rotated near expiry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.models import AttemptStatus, GrantToken, Job, PaymentAttempt, Quote
from jobs.services import job_quote_approve
from marketplace import open_payments
from marketplace.open_payments import open_payments_client
from tests.services import require
from tests.worker.conftest import Stack, person
from worker import pipeline, tokens

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    tokens._MEMO.clear()
    yield
    tokens._MEMO.clear()


def links(stack: Stack, count: int) -> list[PaymentAttempt]:
    """`count` approved jobs whose link step ran in this process."""
    funder = person("fiona", stack.wallet.wallet_url("fiona"), funder=True)
    provider = person("pavel", stack.wallet.wallet_url("pavel"), provider=True)
    attempts = []
    for n in range(count):
        job = Job.objects.create(funder=funder, title=f"Job {n}", description="Work.")
        quote = Quote.objects.create(
            job=job, provider=provider, amount_value=100, asset_code="USD", asset_scale=2
        )
        attempt = job_quote_approve(job_id=job.pk, quote_id=quote.pk, funder=funder).attempt
        pipeline.generate_link(str(attempt.pk))
        attempts.append(PaymentAttempt.objects.get(pk=attempt.pk))
    assert {attempt.status for attempt in attempts} == {AttemptStatus.AWAITING_AUTHORIZATION}
    return attempts


def more_links(stack: Stack, count: int) -> None:
    """`count` more approved jobs of the same funder and provider, linked in this process."""
    funder = Job.objects.first().funder  # type: ignore[union-attr]
    provider = Quote.objects.first().provider  # type: ignore[union-attr]
    for n in range(count):
        job = Job.objects.create(funder=funder, title=f"More {n}", description="Work.")
        quote = Quote.objects.create(
            job=job, provider=provider, amount_value=100, asset_code="USD", asset_scale=2
        )
        attempt = job_quote_approve(job_id=job.pk, quote_id=quote.pk, funder=funder).attempt
        pipeline.generate_link(str(attempt.pk))
        assert PaymentAttempt.objects.get(pk=attempt.pk).status == AttemptStatus.AWAITING_AUTHORIZATION


@pytest.mark.wallet(auto_consent=None)
def test_three_links_share_one_incoming_and_one_quote_grant(stack: Stack) -> None:
    # when three quotes are approved and linked
    stack.wallet.stats(reset=True)
    attempts = links(stack, 3)

    # then the wallet saw one grant per non-interactive access, plus one interactive grant per link
    routes = stack.wallet.stats()["routes"]
    assert routes["grant.create"] == 2 + 3
    assert routes["incoming-payments.create"] == routes["quotes.create"] == 3
    assert sorted(GrantToken.objects.values_list("kind", flat=True)) == ["incoming-payment", "quote"]
    assert {attempt.incoming_token for attempt in attempts} == {""}  # no per-attempt copy


@pytest.mark.wallet(auto_consent=None)
def test_expired_shared_tokens_are_rotated_not_requested_again(stack: Stack) -> None:
    # given shared tokens in use
    links(stack, 1)
    before = dict(GrantToken.objects.values_list("kind", "value"))

    # when the wallet's clock passes their expiry and more links are made
    stack.wallet.advance_clock(601)
    stack.wallet.stats(reset=True)
    more_links(stack, 2)

    # then each token was rotated once (new values stored), and no new non-interactive grant was asked for
    routes = stack.wallet.stats()["routes"]
    assert routes["token.rotate"] == 2
    assert routes["grant.create"] == 2  # the two interactive grants
    after = dict(GrantToken.objects.values_list("kind", "value"))
    assert after.keys() == before.keys() and all(after[kind] != before[kind] for kind in before)


@pytest.mark.wallet(auto_consent=None)
def test_a_revoked_shared_token_is_replaced_by_a_new_grant(stack: Stack) -> None:
    # given a shared incoming-payment token that the wallet then revokes
    links(stack, 1)
    row = GrantToken.objects.get(kind="incoming-payment")
    open_payments_client().tokens.revoke(tokens.AccessToken(row.value, row.manage, None, ()))

    # when another link is made
    stack.wallet.stats(reset=True)
    more_links(stack, 1)

    # then the incoming-payment grant was asked for again (rotation is refused for a revoked token)
    routes = stack.wallet.stats()["routes"]
    assert routes["grant.create"] == 2  # the new incoming-payment grant and the interactive grant
    assert GrantToken.objects.get(kind="incoming-payment").value != row.value


@pytest.mark.wallet(auto_consent=None)
def test_a_link_on_a_warm_worker_costs_three_wallet_calls_and_two_statements(stack: Stack) -> None:
    # given a process that has made a link (wallet addresses cached, shared tokens held)
    links(stack, 1)
    funder = Job.objects.first().funder  # type: ignore[union-attr]
    provider = Quote.objects.first().provider  # type: ignore[union-attr]
    job = Job.objects.create(funder=funder, title="Warm", description="Work.")
    quote = Quote.objects.create(
        job=job, provider=provider, amount_value=100, asset_code="USD", asset_scale=2
    )
    attempt = job_quote_approve(job_id=job.pk, quote_id=quote.pk, funder=funder).attempt
    stack.wallet.stats(reset=True)

    # when the next link is made
    with CaptureQueriesContext(connection) as queries:
        pipeline.generate_link(str(attempt.pk))

    # then: the claim (with the intent to create the incoming payment) with the load, and the move to
    # awaiting_authorization holding everything learned with its event: one statement each on
    # PostgreSQL, with no transaction around them; one call per resource at the wallet
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert statements == ["WITH", "WITH"]
    else:
        transaction_control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
        assert [s for s in statements if s not in transaction_control] == [
            "UPDATE",
            "SELECT",
            "UPDATE",
            "INSERT",
        ]
    assert stack.wallet.stats()["routes"] == {
        "incoming-payments.create": 1,
        "quotes.create": 1,
        "grant.create": 1,
    }
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.AWAITING_AUTHORIZATION
    assert (attempt.lease_owner, attempt.lease_until) == (None, None)
    assert attempt.incoming_payment_requested_at is not None
    learned = [attempt.incoming_payment_url, attempt.op_quote_url, attempt.client_nonce, attempt.payment_url]
    assert all(learned)


@pytest.mark.postgres
@pytest.mark.wallet(auto_consent=None)
def test_a_step_holds_no_database_connection_while_a_wallet_answers(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a process whose PostgreSQL connections come from a pool, noting before each wallet call
    # whether the thread still holds one once it has let go
    require(connection.vendor == "postgresql", "PostgreSQL", "set DATABASE_URL to a PostgreSQL database")
    release, held = open_payments.release_database, []

    def noting() -> None:
        release()
        held.append(connection.connection is not None)

    monkeypatch.setattr(open_payments, "release_database", noting)
    open_payments_client.cache_clear()

    # when a first link is made (wallet addresses, two shared grants, incoming payment, quote, grant)
    links(stack, 1)

    # then only the two shared grants went out holding a connection: they are asked for under the token
    # row's lock (a transaction, so no other thread asks too); every other call went out without one
    assert held == [False, False, True, False, True, False, False]
