"""Quotes: fees, exchange rates, expiry, and refusals (docs/protocol-notes.md §8; Rafiki quote service)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from testwallet.formats import iso, parse_iso
from testwallet.testing import RunningWallet

from .conftest import Parties
from .opclient import amount

SENDING_FEE = {"*": {"fixed": "50", "basisPoints": 100}}


def quote(parties: Parties, receiver: str, *, token: str | None = None, **extra: object) -> httpx.Response:
    token = token or parties.op.quote_grant(parties.alice)
    body = {"walletAddress": parties.alice["id"], "receiver": receiver, "method": "ilp", **extra}
    return parties.op.post(f"{parties.alice['resourceServer']}/quotes", body, token=token)


def rs(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["description"]


@pytest.mark.parametrize(
    ("_case", "incoming", "extra", "expected"),
    [
        ("receiver with an amount, no amount given", 1000, {}, (1060, 1000)),
        ("open receiver, fixed debit", None, {"debitAmount": amount(1000)}, (1000, 940)),
        ("open receiver, fixed receive", None, {"receiveAmount": amount(1000)}, (1060, 1000)),
    ],
)
def test_sending_fee_is_added_or_taken_as_in_rafiki(
    parties: Parties, _case: str, incoming: int | None, extra: dict[str, object], expected: tuple[int, int]
) -> None:
    # given a sending fee of 50 plus 1 %
    parties.server.settings(fees=SENDING_FEE)
    ip, _ = parties.incoming_payment(incoming)

    # when a quote is created
    response = quote(parties, ip["id"], **extra)

    # then debit and receive amounts are Rafiki's (§8 cases A, B, C)
    assert response.status_code == 201
    body = response.json()
    assert (int(body["debitAmount"]["value"]), int(body["receiveAmount"]["value"])) == expected
    assert list(body) == [
        "id",
        "walletAddress",
        "receiveAmount",
        "debitAmount",
        "receiver",
        "expiresAt",
        "createdAt",
        "method",
    ]


def test_exchange_rate_converts_between_assets_and_scales(
    wallet: RunningWallet, parties: Parties, unique: Callable[[str], str]
) -> None:
    # given a EUR receiver at scale 3 and a rate of 0.9 EUR per USD
    carol = unique("carol")
    wallet.create_wallet(carol, asset_code="EUR", asset_scale=3, public_name="Carol")
    wallet.settings(rates={"USD:EUR": "0.9"})
    carol_wallet = parties.op.wallet(wallet.wallet_url(carol))
    token = parties.op.incoming_grant(carol_wallet)
    ip = parties.op.post(
        f"{carol_wallet['resourceServer']}/incoming-payments",
        {"walletAddress": carol_wallet["id"], "incomingAmount": amount(9000, "EUR", 3)},
        token=token,
    ).json()

    # when alice (USD, scale 2) quotes it, and quotes a fixed 10.00 USD debit on an open EUR receiver
    fixed_receive = quote(parties, ip["id"]).json()
    open_ip = parties.op.post(
        f"{carol_wallet['resourceServer']}/incoming-payments",
        {"walletAddress": carol_wallet["id"]},
        token=token,
    ).json()
    fixed_debit = quote(parties, open_ip["id"], debitAmount=amount(1000)).json()

    # then 9.000 EUR costs 10.00 USD, and 10.00 USD delivers 9.000 EUR
    assert (fixed_receive["debitAmount"], fixed_receive["receiveAmount"]) == (
        amount(1000),
        amount(9000, "EUR", 3),
    )
    assert fixed_debit["receiveAmount"] == amount(9000, "EUR", 3)


def test_missing_exchange_rate_is_a_server_error(
    wallet: RunningWallet, parties: Parties, unique: Callable[[str], str]
) -> None:
    # given a JPY receiver and no USD:JPY rate
    dave = unique("dave")
    wallet.create_wallet(dave, asset_code="JPY", asset_scale=0)
    dave_wallet = parties.op.wallet(wallet.wallet_url(dave))
    ip = parties.op.post(
        f"{dave_wallet['resourceServer']}/incoming-payments",
        {"walletAddress": dave_wallet["id"], "incomingAmount": amount(100, "JPY", 0)},
        token=parties.op.incoming_grant(dave_wallet),
    ).json()

    # when alice quotes it / then 500, as Rafiki when it cannot fetch rates
    assert rs(quote(parties, ip["id"])) == (500, "could not fetch rates")


def test_quote_expires_after_its_lifespan_capped_by_the_incoming_payment(parties: Parties) -> None:
    # given a lifespan of 15 s and an incoming payment that expires in 10 s (wallet clock)
    parties.server.settings(quoteLifespanSeconds=15)
    offset_ms = int(parties.server.advance_clock(0) * 1000)
    soon = iso(int((datetime.now(UTC) + timedelta(seconds=10)).timestamp() * 1000) + offset_ms)
    short_ip, _ = parties.incoming_payment(100, expiresAt=soon)
    long_ip, _ = parties.incoming_payment(100)

    # when both are quoted
    capped = quote(parties, short_ip["id"]).json()
    normal = quote(parties, long_ip["id"]).json()

    # then one expires with its incoming payment, the other 15 s after creation
    assert capped["expiresAt"] == short_ip["expiresAt"]
    assert parse_iso(normal["expiresAt"]) - parse_iso(normal["createdAt"]) == 15_000


def test_expired_quote_can_still_be_read(parties: Parties) -> None:
    # given a quote past its expiry
    parties.server.settings(quoteLifespanSeconds=15)
    ip, _ = parties.incoming_payment(200)
    token = parties.op.quote_grant(parties.alice)
    created = parties.op.post(
        f"{parties.alice['resourceServer']}/quotes",
        {"walletAddress": parties.alice["id"], "receiver": ip["id"], "method": "ilp"},
        token=token,
    ).json()
    parties.server.advance_clock(16)

    # when it is read / then it is returned unchanged (§8)
    read = parties.op.get(created["id"], token=token)
    assert (read.status_code, read.json()) == (200, created)


@pytest.mark.parametrize(
    ("_case", "incoming", "extra", "expected"),
    [
        ("open receiver without an amount", None, {}, (400, "invalid amount")),
        (
            "debit amount in another asset",
            None,
            {"debitAmount": amount(100, "EUR", 2)},
            (400, "invalid amount"),
        ),
        ("receive amount over what is owed", 500, {"receiveAmount": amount(600)}, (400, "invalid amount")),
        (
            "fixed debit delivering more than is owed",
            500,
            {"debitAmount": amount(600)},
            (400, "invalid amount"),
        ),
        ("zero debit", None, {"debitAmount": amount(0)}, (400, "invalid amount")),
        (
            "both amounts",
            None,
            {"debitAmount": amount(1), "receiveAmount": amount(1)},
            (400, "Received error validating OpenAPI request: body must NOT have additional properties"),
        ),
    ],
)
def test_invalid_quotes_are_refused(
    parties: Parties, _case: str, incoming: int | None, extra: dict[str, object], expected: tuple[int, str]
) -> None:
    # given an incoming payment and a quote token
    ip, _ = parties.incoming_payment(incoming)
    token = parties.op.quote_grant(parties.alice)
    before = parties.server.state()

    # when a quote breaking one rule is requested / then it is refused and nothing is stored
    assert rs(quote(parties, ip["id"], token=token, **extra)) == expected
    assert parties.server.state() == before


def test_fee_that_eats_the_whole_debit_is_refused(parties: Parties) -> None:
    # given a fee of 50 and an open receiver
    parties.server.settings(fees={"USD": {"fixed": "50", "basisPoints": 0}})
    ip, _ = parties.incoming_payment(None)

    # when a debit of 50 is quoted / then nothing would arrive
    assert rs(quote(parties, ip["id"], debitAmount=amount(50))) == (400, "non-positive receive amount")


def test_completed_expired_or_unknown_receivers_are_refused(parties: Parties) -> None:
    # given a completed incoming payment, an expired one and a URL that names none
    completed, token = parties.incoming_payment(100)
    parties.op.post(f"{completed['id']}/complete", token=token)
    offset_ms = int(parties.server.advance_clock(0) * 1000)
    soon = iso(int((datetime.now(UTC) + timedelta(seconds=5)).timestamp() * 1000) + offset_ms)
    expired, _ = parties.incoming_payment(100, expiresAt=soon)
    parties.server.advance_clock(6)
    unknown = completed["id"].rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"

    # when each is quoted / then 400 invalid receiver (§8)
    for receiver in (completed["id"], expired["id"], unknown):
        assert rs(quote(parties, receiver)) == (400, "invalid receiver")
