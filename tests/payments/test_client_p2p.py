"""The whole peer-to-peer sequence through OpenPaymentsClient, against a fake wallet checking signatures."""

from __future__ import annotations

import secrets

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from payments import (
    AccessItem,
    Amount,
    ClientConfig,
    Grant,
    InactiveToken,
    InteractRequest,
    InvalidQuote,
    Limits,
    OpenPaymentsClient,
    PendingGrant,
    Unauthorized,
    jwks,
    public_jwk,
    verify_finish_hash,
)

from .fake_wallet import AUTH_SERVER, RESOURCE_SERVER, FakeWallet

KEY_ID = "client-key-1"
PLATFORM = "https://wallet.example/platform"


def _public_resolver(host: str, port: int) -> list[str]:
    # Documentation-free public address: the fake answers through MockTransport, so nothing is sent.
    return ["93.184.215.14"]


@pytest.fixture
def wallet(client_key: Ed25519PrivateKey) -> FakeWallet:
    return FakeWallet(client_jwks=jwks(public_jwk(client_key, KEY_ID)), client_url=PLATFORM)


@pytest.fixture
def client(client_key: Ed25519PrivateKey, wallet: FakeWallet) -> OpenPaymentsClient:
    return OpenPaymentsClient(
        ClientConfig(
            wallet_address_url=PLATFORM,
            key_id=KEY_ID,
            private_key=client_key,
            http_client=httpx.Client(transport=httpx.MockTransport(wallet)),
            resolver=_public_resolver,
        )
    )


def test_peer_to_peer_payment_sequence(client: OpenPaymentsClient, wallet: FakeWallet) -> None:
    # given the receiver by URL and the sender by payment pointer
    bob = client.wallet_addresses.get("https://wallet.example/bob")
    alice = client.wallet_addresses.get("$wallet.example/alice")

    # when the receiver side is set up: incoming-payment grant, then the incoming payment
    ip_grant = client.grants.request(bob, access=[AccessItem.incoming_payment(identifier=bob.id)])
    assert isinstance(ip_grant, Grant)
    incoming = client.incoming_payments.create(
        bob,
        token=ip_grant.access_token,
        incoming_amount=Amount(1000, "EUR", 2),
        metadata={"description": "Job #42 — café", "externalRef": "job-42"},
    )

    # and the sender side: quote grant, quote, then the interactive outgoing-payment grant
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
        interact=InteractRequest(finish_uri="https://platform.example/callback/42", nonce=nonce),
    )
    assert isinstance(pending, PendingGrant)
    received_hash, interact_ref = wallet.approve(pending.redirect or "")
    hash_ok = verify_finish_hash(
        received=received_hash,
        client_nonce=nonce,
        interact_nonce=pending.finish_nonce or "",
        interact_ref=interact_ref,
        auth_server=alice.auth_server,
    )
    op_grant = client.grants.continue_(pending, interact_ref=interact_ref)
    assert isinstance(op_grant, Grant)

    # and the payment is made and read back
    payment = client.outgoing_payments.create(
        alice, token=op_grant.access_token, quote_id=quote.id, metadata={"externalRef": "job-42"}
    )
    read_back = client.outgoing_payments.get(payment.id, token=op_grant.access_token)
    paid = client.incoming_payments.get(incoming.id, token=ip_grant.access_token)
    spent = client.outgoing_payment_grant.get(alice, token=op_grant.access_token)

    # then every step has the exact values the wallet returned
    assert (bob.id, alice.id, alice.auth_server, alice.resource_server) == (
        "https://wallet.example/bob",
        "https://wallet.example/alice",
        AUTH_SERVER,
        RESOURCE_SERVER,
    )
    assert incoming.incoming_amount == Amount(1000, "EUR", 2)
    assert dict(incoming.metadata or {}) == {"description": "Job #42 — café", "externalRef": "job-42"}
    assert (quote.debit_amount.format(), quote.receive_amount.format()) == ("10.20 EUR", "10.00 EUR")
    assert hash_ok is True
    assert op_grant.access_token.access[0].limits == Limits(
        debit_amount=Amount(1020, "EUR", 2), receiver=incoming.id
    )
    assert (payment.quote_id, payment.grant_spent_debit_amount, payment.failed) == (
        quote.id,
        Amount(0, "EUR", 2),
        False,
    )
    assert (read_back.sent_amount, read_back.grant_spent_debit_amount) == (Amount(1000, "EUR", 2), None)
    assert (paid.completed, paid.is_paid, paid.methods) == (True, True, ())
    assert (spent.spent_debit_amount, spent.spent_receive_amount) == (
        Amount(1020, "EUR", 2),
        Amount(1000, "EUR", 2),
    )
    assert [(method, status) for method, _, status in wallet.seen] == [
        ("GET", 200), ("GET", 200),
        ("POST", 200), ("POST", 201),
        ("POST", 200), ("POST", 201),
        ("POST", 200), ("POST", 200),
        ("POST", 201), ("GET", 200), ("GET", 200), ("GET", 200),
    ]  # fmt: skip

    # when the same quote is paid again / then it is refused, not paid twice
    with pytest.raises(InvalidQuote):
        client.outgoing_payments.create(alice, token=op_grant.access_token, quote_id=quote.id)


def test_rotate_revoke_and_cancel(client: OpenPaymentsClient, wallet: FakeWallet) -> None:
    # given an incoming-payment grant on bob
    bob = client.wallet_addresses.get("https://wallet.example/bob")
    grant = client.grants.request(
        bob, access=[AccessItem.incoming_payment(actions=("create", "read", "list"))]
    )
    assert isinstance(grant, Grant)
    old = grant.access_token

    # when the token is rotated
    new = client.tokens.rotate(old)

    # then value and manage URL change, the new one works and the old one is inactive
    assert (new.value != old.value, new.manage != old.manage, new.access) == (True, True, old.access)
    assert client.incoming_payments.list(bob, token=new).items == ()
    with pytest.raises(InactiveToken) as inactive:
        client.incoming_payments.list(bob, token=old)
    assert (inactive.value.status, inactive.value.description) == (403, "Inactive Token")
    assert old.value not in str(inactive.value) + repr(inactive.value)

    # when the new token is revoked / then it stops working
    client.tokens.revoke(new)
    with pytest.raises(InactiveToken):
        client.incoming_payments.list(bob, token=new)

    # when the grant is cancelled / then its continuation is gone
    client.grants.cancel(grant)
    with pytest.raises(Unauthorized) as gone:
        client.grants.cancel(grant)
    assert (gone.value.status, gone.value.code) == (401, "invalid_continuation")


def test_wallet_addresses_are_cached_and_keys_read_unsigned(
    client: OpenPaymentsClient, wallet: FakeWallet
) -> None:
    # given a wallet address (unsigned GET) / when it is fetched twice / then the TTL cache answers the second
    client.wallet_addresses.get("https://wallet.example/bob")
    client.wallet_addresses.get("https://wallet.example/bob")
    keys = client.wallet_addresses.get_keys("https://wallet.example/platform")

    # then one request was made for the wallet, and the JWKS came back as published
    assert [(m, u) for m, u, _ in wallet.seen] == [
        ("GET", "https://wallet.example/bob"),
        ("GET", "https://wallet.example/platform/jwks.json"),
    ]
    assert [key["kid"] for key in keys] == [KEY_ID]


def test_polling_grant_quote_less_payment_public_view_and_complete(
    client: OpenPaymentsClient, wallet: FakeWallet
) -> None:
    # given an incoming payment on bob and an outgoing-payment grant on alice that is polled (no finish URI)
    bob = client.wallet_addresses.get("https://wallet.example/bob")
    alice = client.wallet_addresses.get("https://wallet.example/alice")
    ip_grant = client.grants.request(bob, access=[AccessItem.incoming_payment()])
    assert isinstance(ip_grant, Grant)
    incoming = client.incoming_payments.create(
        bob, token=ip_grant.access_token, incoming_amount=Amount(500, "EUR", 2)
    )
    pending = client.grants.request(
        alice, access=[AccessItem.outgoing_payment(alice.id)], interact=InteractRequest()
    )
    assert isinstance(pending, PendingGrant)

    # when polled before and after the user approves
    still_pending = client.grants.poll(pending)
    wallet.approve(pending.redirect or "")
    approved = client.grants.poll(pending)
    assert isinstance(approved, Grant)

    # and a payment is made without a quote, then the receiver's views are read and it is completed
    payment = client.outgoing_payments.create_from_incoming_payment(
        alice, token=approved.access_token, incoming_payment=incoming.id, debit_amount=Amount(520, "EUR", 2)
    )
    public = client.incoming_payments.get_public(incoming.id)
    completed = client.incoming_payments.complete(incoming.id, token=ip_grant.access_token)

    # then each step returns the wallet's values
    assert isinstance(still_pending, PendingGrant)
    assert (still_pending.redirect, still_pending.continuation.wait) == (None, 0)
    assert (payment.debit_amount, payment.receive_amount) == (Amount(520, "EUR", 2), Amount(500, "EUR", 2))
    assert public.received_amount == Amount(500, "EUR", 2) and public.auth_server == AUTH_SERVER
    assert completed.completed is True
    assert wallet.seen[-2] == ("GET", incoming.id, 200)
