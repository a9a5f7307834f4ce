"""Outgoing payments: quote rules, grant limits, settlement, listing (docs/protocol-notes.md §8-§11)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from testwallet.formats import iso

from .conftest import Parties
from .opclient import OPClient, amount


def rs(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["description"]


def settled(parties: Parties, payment_id: str, token: str, timeout: float = 5.0) -> dict[str, Any]:
    """Read the payment until it completed or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = parties.op.get(payment_id, token=token).json()
        if body["failed"] or body["sentAmount"]["value"] != "0":
            return body  # type: ignore[no-any-return]
        time.sleep(0.02)
    raise AssertionError(f"{payment_id} did not settle")


def quote_for(parties: Parties, value: int | None, **extra: Any) -> dict[str, Any]:
    ip, _ = parties.incoming_payment(value)
    created, _ = parties.quote(ip["id"], **extra)
    return created


def test_grant_spent_amounts_are_those_before_each_payment(parties: Parties) -> None:
    # given a grant for 2000
    token = parties.outgoing_token({"debitAmount": amount(2000)})

    # when 600, 600 and 700 are paid
    spent_before = []
    spent_after = []
    for value in (600, 600, 700):
        created = parties.pay(quote_for(parties, value), token)
        assert created.status_code == 201
        spent_before.append(created.json()["grantSpentDebitAmount"]["value"])
        grant = parties.op.get(
            f"{parties.alice['resourceServer']}/outgoing-payment-grant", token=token
        ).json()
        spent_after.append(grant["spentDebitAmount"]["value"])

    # then the create responses show 0, 600, 1200 and the grant 600, 1200, 1900 (§9)
    assert spent_before == ["0", "600", "1200"]
    assert spent_after == ["600", "1200", "1900"]


def test_fee_makes_sent_amount_end_at_the_receive_amount(parties: Parties) -> None:
    # given a sending fee of 50 + 1 % and a fixed-debit quote of 1000 on an open receiver
    parties.server.settings(fees={"*": {"fixed": "50", "basisPoints": 100}})
    quote = quote_for(parties, None, debitAmount=amount(1000))
    token = parties.outgoing_token({"debitAmount": amount(10000)})

    # when it is paid and settles
    payment = parties.pay(quote, token).json()
    done = settled(parties, payment["id"], token)

    # then 1000 left alice, 940 was sent and received (§8 case B), the grant is charged 1000
    assert (done["debitAmount"], done["receiveAmount"], done["sentAmount"]) == (
        amount(1000),
        amount(940),
        amount(940),
    )
    assert parties.server.balance(parties.alice_name) == 99_000
    assert parties.server.balance(parties.bob_name) == 940
    spent = parties.op.get(f"{parties.alice['resourceServer']}/outgoing-payment-grant", token=token).json()
    assert spent == {"spentDebitAmount": amount(1000), "spentReceiveAmount": amount(940)}


def test_insufficient_balance_ends_in_failed(parties: Parties) -> None:
    # given alice holds 5.00 and a quote for 10.00
    parties.server.set_balance(parties.alice_name, 500)
    ip, ip_token = parties.incoming_payment(1000)
    quote, _ = parties.quote(ip["id"])
    token = parties.outgoing_token({"debitAmount": amount(1000)})

    # when it is paid
    payment = parties.pay(quote, token).json()
    done = settled(parties, payment["id"], token)

    # then the payment failed, nothing moved, and the grant's spending is released
    assert (done["failed"], done["sentAmount"]) == (True, amount(0))
    assert parties.server.balance(parties.alice_name) == 500
    assert parties.op.get(ip["id"], token=ip_token).json()["receivedAmount"] == amount(0)
    retry = parties.pay(quote_for(parties, 1000), token)
    assert (retry.status_code, retry.json()["grantSpentDebitAmount"]) == (201, amount(0))


def test_expired_quote_is_invalid(parties: Parties) -> None:
    # given a quote whose 15 s lifespan has passed
    parties.server.settings(quoteLifespanSeconds=15)
    quote = quote_for(parties, 100)
    token = parties.outgoing_token({"debitAmount": amount(1000)})
    parties.server.advance_clock(16)

    # when it is paid / then 400 invalid quote (§8)
    assert rs(parties.pay(quote, token)) == (400, "invalid quote")


def test_quote_whose_receiver_completed_is_invalid(parties: Parties) -> None:
    # given two quotes A and B for the same receiver, B paid and settled
    ip, _ = parties.incoming_payment(200)
    quote_a, _ = parties.quote(ip["id"])
    quote_b, _ = parties.quote(ip["id"])
    token = parties.outgoing_token({"debitAmount": amount(1000)})
    paid = parties.pay(quote_b, token).json()
    settled(parties, paid["id"], token)

    # when A is paid / then 400 invalid quote and nothing is paid twice
    assert rs(parties.pay(quote_a, token)) == (400, "invalid quote")
    assert parties.server.balance(parties.bob_name) == 200


def test_unknown_quote_is_not_found_and_another_wallets_quote_is_invalid(parties: Parties) -> None:
    # given bob's own quote (bob paying alice) and a made-up quote URL
    alice_quote = quote_for(parties, 100)
    token = parties.outgoing_token({"debitAmount": amount(1000)})
    unknown = {"id": alice_quote["id"].rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"}
    bob_quote_token = parties.op.quote_grant(parties.bob)
    alice_ip_token = parties.op.incoming_grant(parties.alice)
    alice_ip = parties.op.post(
        f"{parties.alice['resourceServer']}/incoming-payments",
        {"walletAddress": parties.alice["id"], "incomingAmount": amount(100)},
        token=alice_ip_token,
    ).json()
    bob_quote = parties.op.post(
        f"{parties.bob['resourceServer']}/quotes",
        {"walletAddress": parties.bob["id"], "receiver": alice_ip["id"], "method": "ilp"},
        token=bob_quote_token,
    ).json()

    # when alice pays an unknown quote and bob's quote
    missing = parties.pay(unknown, token)
    foreign = parties.pay(bob_quote, token)

    # then 404 unknown quote and 400 invalid quote
    assert rs(missing) == (404, "unknown quote")
    assert rs(foreign) == (400, "invalid quote")


def test_interval_limits_reset_with_each_interval(parties: Parties) -> None:
    # given a limit of 1000 per minute, in an interval that started 10 s ago (wallet clock)
    offset_ms = int(parties.server.advance_clock(0) * 1000)
    start = iso(int((datetime.now(UTC) - timedelta(seconds=10)).timestamp() * 1000) + offset_ms)
    token = parties.outgoing_token({"debitAmount": amount(1000), "interval": f"R/{start}/PT1M"})
    spent_url = f"{parties.alice['resourceServer']}/outgoing-payment-grant"

    # when 600 is paid, then 600 in the same minute, then 600 in the next
    first = parties.pay(quote_for(parties, 600), token)
    second = parties.pay(quote_for(parties, 600), token)
    spent_first = parties.op.get(spent_url, token=token).json()["spentDebitAmount"]
    parties.server.advance_clock(60)
    third = parties.pay(quote_for(parties, 600), token)
    spent_next = parties.op.get(spent_url, token=token).json()["spentDebitAmount"]

    # then 201, 403 unauthorized, 201, and the spent figures cover the current interval only (§10)
    assert (first.status_code, rs(second), third.status_code) == (201, (403, "unauthorized"), 201)
    assert (spent_first, spent_next) == (amount(600), amount(600))
    assert third.json()["grantSpentDebitAmount"] == amount(0)


def test_interval_starting_in_the_future_refuses_every_payment(parties: Parties) -> None:
    # given a grant whose interval starts in 2030
    token = parties.outgoing_token({"debitAmount": amount(1000), "interval": "R/2030-01-01T00:00:00Z/P1D"})

    # when paying / then 403 unauthorized
    assert rs(parties.pay(quote_for(parties, 100), token)) == (403, "unauthorized")


def test_malformed_interval_is_accepted_by_the_auth_server_and_fails_at_the_resource_server(
    parties: Parties,
) -> None:
    # given a grant with interval "P1D" (no R/start), which the AS accepts as Rafiki does
    token = parties.outgoing_token({"debitAmount": amount(1000), "interval": "P1D"})

    # when paying / then 500, as Rafiki ("invalid repeating interval")
    assert rs(parties.pay(quote_for(parties, 100), token)) == (500, "Internal Server Error")


def test_receiver_limit_refuses_other_receivers(parties: Parties) -> None:
    # given a grant locked to one incoming payment
    locked_ip, _ = parties.incoming_payment(100)
    token = parties.outgoing_token({"receiver": locked_ip["id"]})

    # when another receiver is paid / then 403; the locked one is fine
    assert rs(parties.pay(quote_for(parties, 100), token)) == (403, "unauthorized")
    quote, _ = parties.quote(locked_ip["id"])
    assert parties.pay(quote, token).status_code == 201


def test_payment_without_a_quote_creates_one_with_the_same_id(parties: Parties) -> None:
    # given a receiver fixed at 300 and a grant
    ip, _ = parties.incoming_payment(300)
    token = parties.outgoing_token({"debitAmount": amount(5000)})
    url = f"{parties.alice['resourceServer']}/outgoing-payments"

    # when paying 400 (more than owed), 200 and then sending receiveAmount instead of debitAmount
    too_much = parties.op.post(
        url,
        {"walletAddress": parties.alice["id"], "incomingPayment": ip["id"], "debitAmount": amount(400)},
        token=token,
    )
    fits = parties.op.post(
        url,
        {"walletAddress": parties.alice["id"], "incomingPayment": ip["id"], "debitAmount": amount(200)},
        token=token,
    )
    wrong_shape = parties.op.post(
        url,
        {"walletAddress": parties.alice["id"], "incomingPayment": ip["id"], "receiveAmount": amount(100)},
        token=token,
    )

    # then 400 invalid amount, 201 with an implicit quote of the same uuid, and Rafiki's validator message
    assert rs(too_much) == (400, "invalid amount")
    assert fits.status_code == 201
    assert fits.json()["quoteId"].rsplit("/", 1)[1] == fits.json()["id"].rsplit("/", 1)[1]
    assert rs(wrong_shape) == (
        400,
        "Received error validating OpenAPI request: body must have required property 'quoteId'",
    )


def test_listing_needs_list_and_shows_only_the_callers_payments(parties: Parties, stranger: OPClient) -> None:
    # given two payments by our client and a list-only grant of a stranger
    token = parties.outgoing_token({"debitAmount": amount(5000)}, actions=("list", "read", "create"))
    read_create = parties.outgoing_token({"debitAmount": amount(5000)})
    ids = [parties.pay(quote_for(parties, 100), token).json()["id"] for _ in range(2)]
    pending, _ = stranger.outgoing_grant(parties.alice, actions=("list",))
    consent = stranger.consent(pending.json()["interact"]["redirect"])
    stranger_token = stranger.continue_(pending.json(), consent.interact_ref).json()["access_token"]["value"]
    url = f"{parties.alice['resourceServer']}/outgoing-payments"
    params = {"wallet-address": parties.alice["id"], "first": 10}

    # when listing with each token
    ours = parties.op.get(url, token=token, params=params)
    not_allowed = parties.op.get(url, token=read_create, params=params)
    theirs = stranger.get(url, token=stranger_token, params=params)

    # then our client sees its payments newest first (with metadata, no grantSpent), read+create is 403,
    # and the stranger sees none of ours
    assert [p["id"] for p in ours.json()["result"]] == ids[::-1]
    assert all("grantSpentDebitAmount" not in p for p in ours.json()["result"])
    assert rs(not_allowed) == (403, "Insufficient Grant")
    assert theirs.json() == {"pagination": {"hasNextPage": False, "hasPreviousPage": False}, "result": []}


def test_payment_reads_are_per_client_not_per_grant(parties: Parties, stranger: OPClient) -> None:
    # given a payment made under one grant, a second grant of the same client, and a stranger
    first = parties.outgoing_token({"debitAmount": amount(1000)})
    second = parties.outgoing_token({"debitAmount": amount(1000)})
    payment = parties.pay(quote_for(parties, 100), first).json()
    pending, _ = stranger.outgoing_grant(parties.alice, actions=("read",))
    consent = stranger.consent(pending.json()["interact"]["redirect"])
    stranger_token = stranger.continue_(pending.json(), consent.interact_ref).json()["access_token"]["value"]
    unknown = payment["id"].rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"

    # when read with the other grant, by the stranger, and an unknown id
    same_client = parties.op.get(payment["id"], token=second)
    other_client = stranger.get(payment["id"], token=stranger_token)
    missing = parties.op.get(unknown, token=second)

    # then 200, 404 "does not exist", and Rafiki's 401 for an id it cannot place (§11)
    assert same_client.status_code == 200
    assert rs(other_client) == (404, "Outgoing payment does not exist")
    assert rs(missing) == (401, "Unauthorized")


def test_revoked_grant_cannot_read_but_a_new_grant_of_the_client_can(parties: Parties) -> None:
    # given a payment, then its grant cancelled
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(1000)})
    consent = parties.op.consent(pending.json()["interact"]["redirect"])
    token = parties.op.continue_(pending.json(), consent.interact_ref).json()["access_token"]["value"]
    payment = parties.pay(quote_for(parties, 100), token).json()
    assert (
        parties.op.delete(
            pending.json()["continue"]["uri"], token=pending.json()["continue"]["access_token"]["value"]
        ).status_code
        == 204
    )

    # when read with the revoked token and with a fresh read grant
    revoked = parties.op.get(payment["id"], token=token)
    fresh = parties.op.get(payment["id"], token=parties.outgoing_token(None, actions=("read",)))

    # then 403 Inactive Token, then 200 (§11)
    assert rs(revoked) == (403, "Inactive Token")
    assert fresh.status_code == 200


def test_grant_without_payments_reports_null_spent_amounts(parties: Parties) -> None:
    # given a fresh grant
    token = parties.outgoing_token({"debitAmount": amount(1000)})

    # when its spent amounts are read / then nulls, not zeros (§10)
    response = parties.op.get(f"{parties.alice['resourceServer']}/outgoing-payment-grant", token=token)
    assert response.json() == {"spentDebitAmount": None, "spentReceiveAmount": None}
