"""Concurrent requests against the same resources: exactly one wins, state stays consistent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .conftest import Parties
from .opclient import amount

ATTEMPTS = 12


def test_one_quote_pays_once_under_concurrent_creates(parties: Parties) -> None:
    # given a quote and a grant large enough for many payments
    ip, _ = parties.incoming_payment(100)
    quote, _ = parties.quote(ip["id"])
    token = parties.outgoing_token({"debitAmount": amount(100_000)})

    # when the same create is sent twelve times at once
    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        statuses = sorted(pool.map(lambda _: parties.pay(quote, token).status_code, range(ATTEMPTS)))

    # then one payment exists and the others were refused as "invalid quote"
    assert statuses == [201] + [400] * (ATTEMPTS - 1)
    parties.server.settle()
    assert len(parties.server.payments(parties.alice_name)["outgoingPayments"]) == 1
    assert parties.server.balance(parties.alice_name) == 100_000 - 100


def test_grant_limit_holds_under_concurrent_payments(parties: Parties) -> None:
    # given a grant for 500 and twelve quotes of 100
    token = parties.outgoing_token({"debitAmount": amount(500)})
    quotes = []
    for _ in range(ATTEMPTS):
        ip, _ = parties.incoming_payment(100)
        quotes.append(parties.quote(ip["id"])[0])

    # when all are paid at once
    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        statuses = sorted(pool.map(lambda q: parties.pay(q, token).status_code, quotes))

    # then exactly five fit under the limit
    assert statuses == [201] * 5 + [403] * (ATTEMPTS - 5)


def test_a_grant_is_continued_once_under_concurrent_continues(parties: Parties) -> None:
    # given an accepted grant
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    consent = parties.op.consent(pending.json()["interact"]["redirect"])

    # when it is continued twelve times at once
    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        statuses = sorted(
            pool.map(
                lambda _: parties.op.continue_(pending.json(), consent.interact_ref).status_code,
                range(ATTEMPTS),
            )
        )

    # then one token was issued, the rest were request_denied
    assert statuses == [200] + [401] * (ATTEMPTS - 1)
