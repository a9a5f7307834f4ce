"""Fixtures for the test wallet's own tests: one real wallet process per session, fresh parties per test.

Every test creates its own wallets (unique names), so tests do not see each other's money, and the
``wallet`` fixture resets the runtime settings and faults before each test.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from payments.keys import generate_private_key, public_jwk
from testwallet.testing import ClientIdentity, RunningWallet, running_wallet

from .opclient import OPClient, amount
from .openapi_check import SpecValidator

DEFAULT_SETTINGS: dict[str, Any] = {
    "waitSeconds": 0,
    "tokenLifetimeSeconds": 600,
    "interactionExpirySeconds": 600,
    "quoteLifespanSeconds": 300,
    "incomingPaymentMaxExpirySeconds": 30 * 24 * 3600,
    "settleDelaySeconds": 0.05,
    "autoConsent": None,
    "jwksCacheSeconds": 1.0,
    "fees": {},
    "rates": {},
}


@pytest.fixture(scope="session")
def server() -> Iterator[RunningWallet]:
    with running_wallet(None, settle_delay=0.05) as running:
        yield running


@pytest.fixture(scope="session")
def validator(server: RunningWallet) -> SpecValidator:
    return SpecValidator(server.base_url, server.tenant)


@pytest.fixture
def wallet(server: RunningWallet) -> RunningWallet:
    """The session's wallet, with default settings and no faults."""
    server.settings(**DEFAULT_SETTINGS)
    server.clear_faults()
    server.settle()  # nothing from an earlier test settles in the middle of this one
    return server


@pytest.fixture
def unique() -> Callable[[str], str]:
    return lambda name: f"{name}-{secrets.token_hex(4)}"


@dataclass
class Parties:
    """A sender (alice), a receiver (bob) and a GNAP client (the platform), all on the test wallet."""

    server: RunningWallet
    alice: dict[str, Any]
    bob: dict[str, Any]
    client: ClientIdentity
    op: OPClient

    @property
    def alice_name(self) -> str:
        return self.alice["id"].rsplit("/", 1)[1]

    @property
    def bob_name(self) -> str:
        return self.bob["id"].rsplit("/", 1)[1]

    def incoming_payment(self, value: int | None = 1000, **extra: Any) -> tuple[dict[str, Any], str]:
        token = self.op.incoming_grant(self.bob)
        body: dict[str, Any] = {"walletAddress": self.bob["id"], **extra}
        if value is not None:
            body["incomingAmount"] = amount(value)
        response = self.op.post(f"{self.bob['resourceServer']}/incoming-payments", body, token=token)
        assert response.status_code == 201, response.text
        return response.json(), token

    def quote(self, receiver: str, **extra: Any) -> tuple[dict[str, Any], str]:
        token = self.op.quote_grant(self.alice)
        body = {"walletAddress": self.alice["id"], "receiver": receiver, "method": "ilp", **extra}
        response = self.op.post(f"{self.alice['resourceServer']}/quotes", body, token=token)
        assert response.status_code == 201, response.text
        return response.json(), token

    def outgoing_token(
        self, limits: dict[str, Any] | None, actions: tuple[str, ...] = ("read", "create")
    ) -> str:
        """An approved outgoing-payment grant for alice (the user accepts on the consent page)."""
        pending, _ = self.op.outgoing_grant(self.alice, limits=limits, actions=actions)
        assert pending.status_code == 200, pending.text
        consent = self.op.consent(pending.json()["interact"]["redirect"])
        response = self.op.continue_(pending.json(), consent.interact_ref)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]["value"]  # type: ignore[no-any-return]

    def pay(self, quote: dict[str, Any], token: str, **extra: Any) -> Any:
        body = {"walletAddress": self.alice["id"], "quoteId": quote["id"], **extra}
        return self.op.post(f"{self.alice['resourceServer']}/outgoing-payments", body, token=token)


def make_op_client(identity: ClientIdentity, validator: SpecValidator) -> OPClient:
    return OPClient(
        client_url=identity.url, key_id=identity.key_id, private_key=identity.private_key, validator=validator
    )


@pytest.fixture
def parties(
    wallet: RunningWallet, validator: SpecValidator, unique: Callable[[str], str]
) -> Iterator[Parties]:
    alice, bob = unique("alice"), unique("bob")
    wallet.create_wallet(alice, public_name="Alice", balance=100_000)
    wallet.create_wallet(bob, public_name="Bob", balance=0)
    client = wallet.create_client(unique("platform"), public_name="Job Board")
    op = make_op_client(client, validator)
    try:
        yield Parties(
            wallet, op.wallet(wallet.wallet_url(alice)), op.wallet(wallet.wallet_url(bob)), client, op
        )
    finally:
        op.close()


@pytest.fixture
def stranger(
    wallet: RunningWallet, validator: SpecValidator, unique: Callable[[str], str]
) -> Iterator[OPClient]:
    """A second, unrelated client with its own key."""
    identity = wallet.create_client(unique("stranger"), public_name="Stranger")
    op = make_op_client(identity, validator)
    try:
        yield op
    finally:
        op.close()


@pytest.fixture
def fresh_key() -> Callable[[str], tuple[Any, dict[str, str]]]:
    def make(kid: str) -> tuple[Any, dict[str, str]]:
        key = generate_private_key()
        return key, public_jwk(key, kid)

    return make
