"""The peer-to-peer sequence against the real local test wallet (testwallet/) on 127.0.0.1."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from payments import (
    AccessItem,
    Amount,
    ClientConfig,
    Grant,
    InactiveToken,
    InteractRequest,
    InvalidQuote,
    Limits,
    NotFound,
    OpenPaymentsClient,
    PendingGrant,
    TooFast,
    Unauthorized,
    verify_finish_hash,
)
from testwallet.testing import RunningWallet, running_wallet

FINISH_URI = "http://127.0.0.1:9/callback/job-42"  # never contacted: the test reads the redirect itself

SEED = {
    "wallets": [
        {"name": "alice", "publicName": "Alice", "assetCode": "EUR", "assetScale": 2, "balance": "100000"},
        {"name": "bob", "publicName": "Bob", "assetCode": "EUR", "assetScale": 2, "balance": "0"},
    ]
}


@pytest.fixture(scope="module")
def wallet() -> Iterator[RunningWallet]:
    with running_wallet(SEED, in_thread=True, auto_consent="accept", wait=0, settle_delay=0.01) as running:
        yield running


@pytest.fixture
def client(wallet: RunningWallet) -> Iterator[OpenPaymentsClient]:
    identity = wallet.create_client(f"platform-{secrets.token_hex(4)}", public_name="Job Board")
    config = ClientConfig(
        wallet_address_url=identity.url,
        key_id=identity.key_id,
        private_key=identity.private_key,
        timeout=5.0,
        # The test wallet listens on loopback over plain http: allowed here, and only here.
        allowed_http_hosts=frozenset({"127.0.0.1"}),
        allow_private_hosts=True,
    )
    with OpenPaymentsClient(config) as op_client:
        yield op_client


def _consent(redirect: str) -> dict[str, str]:
    """Play the user's browser: open the consent URL and read the finish redirect's query."""
    with httpx.Client(timeout=5.0, follow_redirects=False) as browser:
        response = browser.get(redirect)
    location = response.headers["location"]
    assert (response.status_code, location.split("?")[0]) == (302, FINISH_URI)
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def _outgoing_grant(client: OpenPaymentsClient, wallet: RunningWallet, limit: Amount, nonce: str) -> Grant:
    alice = client.wallet_addresses.get(wallet.wallet_url("alice"))
    pending = client.grants.request(
        alice,
        access=[AccessItem.outgoing_payment(alice.id, Limits(debit_amount=limit))],
        interact=InteractRequest(finish_uri=FINISH_URI, nonce=nonce),
    )
    assert isinstance(pending, PendingGrant)
    query = _consent(pending.redirect or "")
    assert verify_finish_hash(
        received=query["hash"],
        client_nonce=nonce,
        interact_nonce=pending.finish_nonce or "",
        interact_ref=query["interact_ref"],
        auth_server=alice.auth_server,
    )
    grant = client.grants.continue_(pending, interact_ref=query["interact_ref"])
    assert isinstance(grant, Grant)
    return grant


def test_peer_to_peer_payment_against_the_test_wallet(
    client: OpenPaymentsClient, wallet: RunningWallet
) -> None:
    # given the receiver and sender wallets
    bob = client.wallet_addresses.get(wallet.wallet_url("bob"))
    alice = client.wallet_addresses.get(wallet.wallet_url("alice"))

    # when the receiver gets an incoming payment and the sender a quote
    ip_grant = client.grants.request(bob, access=[AccessItem.incoming_payment(identifier=bob.id)])
    assert isinstance(ip_grant, Grant)
    incoming = client.incoming_payments.create(
        bob,
        token=ip_grant.access_token,
        incoming_amount=Amount(1000, "EUR", 2),
        metadata={"note": "Zoë — job 42"},
    )
    quote_grant = client.grants.request(alice, access=[AccessItem.quote()])
    assert isinstance(quote_grant, Grant)
    quote = client.quotes.create(alice, token=quote_grant.access_token, receiver=incoming.id)

    # and the user consents to an outgoing-payment grant capped at the quote, which then pays it
    op_grant = _outgoing_grant(client, wallet, quote.debit_amount, secrets.token_urlsafe(32))
    payment = client.outgoing_payments.create(alice, token=op_grant.access_token, quote_id=quote.id)
    wallet.settle()
    settled = client.outgoing_payments.get(payment.id, token=op_grant.access_token)
    received = client.incoming_payments.get(incoming.id, token=ip_grant.access_token)
    spent = client.outgoing_payment_grant.get(alice, token=op_grant.access_token)

    # then the money moved exactly once, as quoted
    assert (quote.receive_amount, quote.debit_amount) == (Amount(1000, "EUR", 2), Amount(1000, "EUR", 2))
    assert (payment.quote_id, payment.failed, payment.grant_spent_debit_amount) == (
        quote.id,
        False,
        Amount(0, "EUR", 2),
    )
    assert (settled.sent_amount, settled.failed) == (Amount(1000, "EUR", 2), False)
    assert (received.is_paid, received.received_amount) == (True, Amount(1000, "EUR", 2))
    assert dict(received.metadata or {}) == {"note": "Zoë — job 42"}
    assert spent.spent_debit_amount == Amount(1000, "EUR", 2)
    assert (wallet.balance("alice"), wallet.balance("bob")) == (99000, 1000)
    with pytest.raises(InvalidQuote):
        client.outgoing_payments.create(alice, token=op_grant.access_token, quote_id=quote.id)


def test_rotate_revoke_and_cancel_against_the_test_wallet(
    client: OpenPaymentsClient, wallet: RunningWallet
) -> None:
    # given an incoming-payment grant that may list
    bob = client.wallet_addresses.get(wallet.wallet_url("bob"))
    grant = client.grants.request(
        bob, access=[AccessItem.incoming_payment(("create", "read", "list"), bob.id)]
    )
    assert isinstance(grant, Grant)

    # when its token is rotated, then revoked, and the grant cancelled
    rotated = client.tokens.rotate(grant.access_token)
    listed = client.incoming_payments.list(bob, token=rotated, first=10)
    with pytest.raises(InactiveToken):
        client.incoming_payments.list(bob, token=grant.access_token)
    client.tokens.revoke(rotated)
    with pytest.raises(InactiveToken):
        client.incoming_payments.list(bob, token=rotated)
    client.grants.cancel(grant)

    # then the rotated token was new, listing saw only this client's payments, and the grant is gone
    assert (rotated.value != grant.access_token.value, rotated.manage != grant.access_token.manage) == (
        True,
        True,
    )
    assert listed.items == ()
    with pytest.raises(Unauthorized):
        client.grants.cancel(grant)


def test_too_fast_then_wrong_and_right_interact_ref(
    client: OpenPaymentsClient, wallet: RunningWallet
) -> None:
    # given the wallet asking clients to wait 5 s, and a grant the user has just approved
    wallet.settings(waitSeconds=5)
    try:
        alice = client.wallet_addresses.get(wallet.wallet_url("alice"))
        pending = client.grants.request(
            alice,
            access=[AccessItem.outgoing_payment(alice.id)],
            interact=InteractRequest(finish_uri=FINISH_URI, nonce=secrets.token_urlsafe(16)),
        )
        assert isinstance(pending, PendingGrant)
        interact_ref = _consent(pending.redirect or "")["interact_ref"]

        # when it is continued at once / then TooFast carries the grant's wait
        with pytest.raises(TooFast) as too_fast:
            client.grants.continue_(pending, interact_ref=interact_ref)

        # when the wait has passed, a wrong interact_ref is not found and the right one succeeds
        wallet.advance_clock(6)
        with pytest.raises(NotFound) as not_found:
            client.grants.continue_(pending, interact_ref="not-the-ref")
        wallet.advance_clock(6)
        granted = client.grants.continue_(pending, interact_ref=interact_ref)
    finally:
        wallet.settings(waitSeconds=0)

    # then
    assert (pending.continuation.wait, too_fast.value.wait, too_fast.value.code) == (5, 5, "too_fast")
    assert not_found.value.code == "invalid_continuation"
    assert isinstance(granted, Grant)


def test_polling_grant_quote_less_payment_public_view_and_complete(
    client: OpenPaymentsClient, wallet: RunningWallet
) -> None:
    # given an incoming payment on bob and an outgoing-payment grant on alice without a finish URI
    bob = client.wallet_addresses.get(wallet.wallet_url("bob"))
    alice = client.wallet_addresses.get(wallet.wallet_url("alice"))
    ip_grant = client.grants.request(bob, access=[AccessItem.incoming_payment()])
    assert isinstance(ip_grant, Grant)
    incoming = client.incoming_payments.create(
        bob, token=ip_grant.access_token, incoming_amount=Amount(500, "EUR", 2)
    )
    pending = client.grants.request(
        alice, access=[AccessItem.outgoing_payment(alice.id)], interact=InteractRequest()
    )
    assert isinstance(pending, PendingGrant)

    # when it is polled before and after the user approves (no redirect back: the page answers 202)
    still_pending = client.grants.poll(pending)
    with httpx.Client(timeout=5.0) as browser:
        consent_status = browser.get(pending.redirect or "").status_code
    approved = client.grants.poll(pending)
    assert isinstance(approved, Grant)

    # and a payment is made without a quote, then the receiver's views are read and it is completed
    payment = client.outgoing_payments.create_from_incoming_payment(
        alice, token=approved.access_token, incoming_payment=incoming.id, debit_amount=Amount(200, "EUR", 2)
    )
    wallet.settle()
    public = client.incoming_payments.get_public(incoming.id)
    completed = client.incoming_payments.complete(incoming.id, token=ip_grant.access_token)

    # then each step returns the wallet's values
    assert isinstance(still_pending, PendingGrant)
    assert (still_pending.redirect, consent_status) == (None, 202)
    assert (payment.debit_amount, payment.receive_amount) == (Amount(200, "EUR", 2), Amount(200, "EUR", 2))
    assert (public.received_amount, public.auth_server) == (Amount(200, "EUR", 2), alice.auth_server)
    assert (completed.completed, completed.received_amount) == (True, Amount(200, "EUR", 2))


def test_wallet_address_cache_and_keys(wallet: RunningWallet) -> None:
    # given a client whose HTTP requests are counted
    identity = wallet.create_client(f"platform-{secrets.token_hex(4)}")
    sent: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda request: sent.append(str(request.url))]})
    config = ClientConfig(
        wallet_address_url=identity.url,
        key_id=identity.key_id,
        private_key=identity.private_key,
        allowed_http_hosts=frozenset({"127.0.0.1"}),
        allow_private_hosts=True,
        http_client=http,
    )

    # when a wallet is fetched twice and the client's keys once
    with OpenPaymentsClient(config) as op_client:
        first = op_client.wallet_addresses.get(wallet.wallet_url("bob"))
        second = op_client.wallet_addresses.get(wallet.wallet_url("bob"))
        keys = op_client.wallet_addresses.get_keys(identity.url)
    http.close()

    # then the second read came from the cache and the JWKS is the published one
    assert first == second
    assert sent == [wallet.wallet_url("bob"), f"{identity.url}/jwks.json"]
    assert keys == (identity.public_jwk,)
