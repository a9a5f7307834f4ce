"""Our own ``payments.OpenPaymentsClient`` runs the peer-to-peer sequence against the real test wallet."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest

from payments import (
    AccessItem,
    Amount,
    ClientConfig,
    Grant,
    InteractRequest,
    InvalidQuote,
    Limits,
    OpenPaymentsClient,
    PendingGrant,
    TooFast,
    verify_finish_hash,
)

from .conftest import Parties


@pytest.fixture
def client(parties: Parties) -> Iterator[OpenPaymentsClient]:
    config = ClientConfig(
        wallet_address_url=parties.client.url,
        key_id=parties.client.key_id,
        private_key=parties.client.private_key,
        allowed_http_hosts=frozenset({"127.0.0.1"}),
        allow_private_hosts=True,
    )
    with OpenPaymentsClient(config) as opened:
        yield opened


def test_payments_client_completes_a_peer_to_peer_payment(
    parties: Parties, client: OpenPaymentsClient
) -> None:
    # given both wallet addresses
    bob = client.wallet_addresses.get(parties.bob["id"])
    alice = client.wallet_addresses.get(parties.alice["id"])

    # when the receiver side is set up
    ip_grant = client.grants.request(bob, access=[AccessItem.incoming_payment(identifier=bob.id)])
    assert isinstance(ip_grant, Grant)
    incoming = client.incoming_payments.create(
        bob,
        token=ip_grant.access_token,
        incoming_amount=Amount(1000, "USD", 2),
        metadata={"externalRef": "job-42"},
    )

    # and the sender side: quote, interactive grant, consent in the browser, continuation
    quote_grant = client.grants.request(alice, access=[AccessItem.quote()])
    assert isinstance(quote_grant, Grant)
    quote = client.quotes.create(alice, token=quote_grant.access_token, receiver=incoming.id)
    nonce = secrets.token_urlsafe(32)
    pending = client.grants.request(
        alice,
        access=[
            AccessItem.outgoing_payment(
                alice.id, Limits(debit_amount=quote.debit_amount, receiver=incoming.id)
            )
        ],
        interact=InteractRequest(finish_uri="http://127.0.0.1:9/callback/42", nonce=nonce),
    )
    assert isinstance(pending, PendingGrant)
    consent = parties.op.consent(pending.redirect or "")
    assert verify_finish_hash(
        received=consent.query["hash"],
        client_nonce=nonce,
        interact_nonce=pending.finish_nonce or "",
        interact_ref=consent.interact_ref,
        auth_server=alice.auth_server,
    )
    op_grant = client.grants.continue_(pending, interact_ref=consent.interact_ref)
    assert isinstance(op_grant, Grant)

    # and the payment is made and followed to completion
    payment = client.outgoing_payments.create(alice, token=op_grant.access_token, quote_id=quote.id)
    deadline = time.monotonic() + 5
    read_back = client.outgoing_payments.get(payment.id, token=op_grant.access_token)
    while read_back.sent_amount.value == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
        read_back = client.outgoing_payments.get(payment.id, token=op_grant.access_token)
    paid = client.incoming_payments.get(incoming.id, token=ip_grant.access_token)
    spent = client.outgoing_payment_grant.get(alice, token=op_grant.access_token)

    # then every value is the wallet's, the receiver is paid, and a second payment is refused
    assert (quote.debit_amount, quote.receive_amount) == (Amount(1000, "USD", 2), Amount(1000, "USD", 2))
    assert (payment.quote_id, payment.grant_spent_debit_amount, payment.failed) == (
        quote.id,
        Amount(0, "USD", 2),
        False,
    )
    assert (read_back.sent_amount, read_back.failed) == (Amount(1000, "USD", 2), False)
    assert (paid.completed, paid.methods) == (True, ())
    assert (spent.spent_debit_amount, spent.spent_receive_amount) == (
        Amount(1000, "USD", 2),
        Amount(1000, "USD", 2),
    )
    with pytest.raises(InvalidQuote):
        client.outgoing_payments.create(alice, token=op_grant.access_token, quote_id=quote.id)


def test_payments_client_sees_too_fast_with_the_wait(parties: Parties, client: OpenPaymentsClient) -> None:
    # given a wait of 5 s and an accepted grant
    parties.server.settings(waitSeconds=5)
    alice = client.wallet_addresses.get(parties.alice["id"])
    pending = client.grants.request(
        alice,
        access=[AccessItem.outgoing_payment(alice.id, Limits(debit_amount=Amount(100, "USD", 2)))],
        interact=InteractRequest(finish_uri="http://127.0.0.1:9/cb", nonce="n-1"),
    )
    assert isinstance(pending, PendingGrant)
    consent = parties.op.consent(pending.redirect or "")

    # when it continues at once / then TooFast carries the wait
    with pytest.raises(TooFast) as raised:
        client.grants.continue_(pending, interact_ref=consent.interact_ref)
    assert (raised.value.status, raised.value.wait) == (400, 5)
