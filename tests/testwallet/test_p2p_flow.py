"""The whole peer-to-peer payment through raw signed requests, checked field by field."""

from __future__ import annotations

import re
import time

from payments.interaction import verify_finish_hash

from .conftest import Parties
from .opclient import amount

ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")
TOKEN = re.compile(r"[0-9A-F]{20}\Z")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def wait_for(predicate, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def test_peer_to_peer_payment_completes(parties: Parties) -> None:
    server, op, alice, bob = parties.server, parties.op, parties.alice, parties.bob
    rs = alice["resourceServer"]

    # given an incoming-payment grant and an incoming payment on bob
    grant = op.grant(bob, [{"type": "incoming-payment", "actions": ["read", "complete", "create"]}])
    assert grant.status_code == 200
    ip_token = grant.json()["access_token"]
    assert list(grant.json()) == ["access_token", "continue"]
    assert list(ip_token) == ["access", "value", "manage", "expires_in"]
    assert TOKEN.match(ip_token["value"])
    assert re.fullmatch(f"{server.base_url}/auth/token/{UUID}", ip_token["manage"])
    assert ip_token["expires_in"] == 600
    assert ip_token["access"] == [{"actions": ["read", "complete", "create"], "type": "incoming-payment"}]
    assert re.fullmatch(f"{server.base_url}/auth/continue/{UUID}", grant.json()["continue"]["uri"])
    assert "wait" not in grant.json()["continue"]
    incoming = op.post(
        f"{rs}/incoming-payments",
        {
            "walletAddress": bob["id"],
            "incomingAmount": amount(1000),
            "metadata": {"description": "Job #42 café"},
        },
        token=ip_token["value"],
    )
    assert incoming.status_code == 201
    ip = incoming.json()
    assert list(ip) == [
        "id", "walletAddress", "incomingAmount", "receivedAmount", "completed", "metadata",
        "createdAt", "expiresAt", "methods",
    ]  # fmt: skip
    assert re.fullmatch(f"{rs}/incoming-payments/{UUID}", ip["id"])
    assert (ip["receivedAmount"], ip["completed"], ip["metadata"]) == (
        amount(0),
        False,
        {"description": "Job #42 café"},
    )
    assert ISO_MS.match(ip["createdAt"]) and ISO_MS.match(ip["expiresAt"])
    assert len(ip["methods"]) == 1 and ip["methods"][0]["type"] == "ilp"

    # and a quote for it
    quote, _ = parties.quote(ip["id"])
    assert (quote["debitAmount"], quote["receiveAmount"], quote["method"]) == (
        amount(1000),
        amount(1000),
        "ilp",
    )
    assert quote["receiver"] == ip["id"]

    # when the user approves an outgoing-payment grant capped at the quote's debit amount
    pending, nonce = op.outgoing_grant(
        alice, limits={"debitAmount": quote["debitAmount"], "receiver": ip["id"]}
    )
    assert pending.status_code == 200
    interact = pending.json()["interact"]
    assert re.fullmatch(r"[0-9A-F]{16}", interact["finish"])
    assert interact["redirect"].startswith(f"{server.base_url}/auth/interact/")
    assert interact["redirect"].split("?")[0].endswith("/" + interact["finish"])
    assert "clientName=Job+Board" in interact["redirect"]
    assert pending.json()["continue"]["wait"] == 0
    consent = op.consent(interact["redirect"])
    assert consent.location.startswith("http://127.0.0.1:9/callback?job=42&hash=")
    assert verify_finish_hash(
        received=consent.query["hash"],
        client_nonce=nonce,
        interact_nonce=interact["finish"],
        interact_ref=consent.interact_ref,
        auth_server=alice["authServer"],
    )
    continued = op.continue_(pending.json(), consent.interact_ref)
    assert continued.status_code == 200
    op_token = continued.json()["access_token"]["value"]
    assert "wait" not in continued.json()["continue"]

    # and the outgoing payment is created from the quote
    created = parties.pay(quote, op_token, metadata={"externalRef": "job-42"})

    # then it shares the quote's uuid and reports nothing spent before it
    assert created.status_code == 201
    payment = created.json()
    assert payment["id"].rsplit("/", 1)[1] == quote["id"].rsplit("/", 1)[1]
    assert payment["quoteId"] == quote["id"]
    assert (payment["sentAmount"], payment["failed"]) == (amount(0), False)
    assert (payment["grantSpentDebitAmount"], payment["grantSpentReceiveAmount"]) == (amount(0), amount(0))

    # and it settles in the background: alice debited, bob's incoming payment completed
    settled = wait_for(
        lambda: (r := op.get(payment["id"], token=op_token).json())["sentAmount"]["value"] == "1000" and r
    )
    assert "grantSpentDebitAmount" not in settled
    assert settled["failed"] is False
    paid = op.get(ip["id"], token=ip_token["value"]).json()
    assert (paid["receivedAmount"], paid["completed"], paid["methods"]) == (amount(1000), True, [])
    assert (server.balance(parties.alice_name), server.balance(parties.bob_name)) == (99_000, 1000)
    spent = op.get(f"{rs}/outgoing-payment-grant", token=op_token)
    assert spent.json() == {"spentDebitAmount": amount(1000), "spentReceiveAmount": amount(1000)}

    # and the public view of the incoming payment needs no token
    public = op.get(ip["id"])
    assert public.json() == {"receivedAmount": amount(1000), "authServer": alice["authServer"]}
