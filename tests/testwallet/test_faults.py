"""Fault injection: errors before the effect, lost responses after it, latency, slow settlement."""

from __future__ import annotations

import time

import httpx
import pytest

from testwallet.faults import FaultInjector, route_name
from testwallet.testing import running_wallet

from .conftest import Parties
from .opclient import amount


def test_injected_error_answers_before_anything_happens(parties: Parties) -> None:
    # given the next incoming-payment create fails with 503
    token = parties.op.incoming_grant(parties.bob)
    parties.server.faults({"routes": {"incoming-payments.create": {"errorNext": 1, "errorStatus": 503}}})
    before = parties.server.state()

    # when it is attempted, then attempted again
    failed = parties.op.post(
        f"{parties.bob['resourceServer']}/incoming-payments",
        {"walletAddress": parties.bob["id"]},
        token=token,
    )
    state_after_failure = parties.server.state()
    retried = parties.op.post(
        f"{parties.bob['resourceServer']}/incoming-payments",
        {"walletAddress": parties.bob["id"]},
        token=token,
    )

    # then the first is a 503 with no effect, the retry succeeds, and the fault was counted
    assert (failed.status_code, failed.json()) == (
        503,
        {"error": {"code": "503", "description": "injected fault"}},
    )
    assert state_after_failure == before
    assert retried.status_code == 201
    assert parties.server.faults()["injected"] == {"incoming-payments.create": {"error": 1, "drop": 0}}


def test_dropped_response_keeps_the_effect_and_a_retry_is_refused(parties: Parties) -> None:
    # given an outgoing payment whose create response will be lost
    ip, _ = parties.incoming_payment(300)
    quote, _ = parties.quote(ip["id"])
    token = parties.outgoing_token({"debitAmount": amount(1000)})
    parties.server.faults({"routes": {"outgoing-payments.create": {"dropNext": 1}}})

    # when it is created (the connection is cut), then retried with the same quote
    with pytest.raises(httpx.RemoteProtocolError):
        parties.pay(quote, token)
    retry = parties.pay(quote, token)

    # then the payment exists (under the quote's uuid) and the retry is Rafiki's "invalid quote"
    assert (retry.status_code, retry.json()["error"]["description"]) == (400, "invalid quote")
    payment_url = quote["id"].replace("/quotes/", "/outgoing-payments/")
    found = parties.op.get(payment_url, token=token)
    assert (found.status_code, found.json()["quoteId"]) == (200, quote["id"])
    assert len(parties.server.payments(parties.alice_name)["outgoingPayments"]) == 1


def test_latency_delays_the_route(parties: Parties) -> None:
    # given 300 ms of latency on wallet address reads
    parties.server.faults({"routes": {"wallet.get": {"latencyMs": 300}}})

    # when the wallet is read
    started = time.monotonic()
    response = parties.op.get(parties.alice["id"])
    elapsed = time.monotonic() - started

    # then it answers normally, late
    assert response.status_code == 200
    assert elapsed >= 0.3


def test_slow_settlement(parties: Parties) -> None:
    # given settlements slowed by one second
    parties.server.faults({"settlementDelaySeconds": 1.0})
    ip, _ = parties.incoming_payment(100)
    quote, _ = parties.quote(ip["id"])
    token = parties.outgoing_token({"debitAmount": amount(1000)})

    # when a payment is made and read at once, then after the delay
    started = time.monotonic()
    payment = parties.pay(quote, token).json()
    early = parties.op.get(payment["id"], token=token).json()
    early_at = time.monotonic() - started
    time.sleep(1.3)
    late = parties.op.get(payment["id"], token=token).json()

    # then it was still in progress at first and complete after the delay
    assert early_at < 1.0
    assert (early["sentAmount"], early["failed"]) == (amount(0), False)
    assert late["sentAmount"] == amount(100)


def test_random_faults_are_deterministic_for_a_seed() -> None:
    # given two injectors with the same seed and rates
    config = {"seed": 42, "routes": {"quotes.*": {"errorRate": 0.3, "dropRate": 0.2}}}
    first, second = FaultInjector(), FaultInjector()
    first.configure(config)
    second.configure(config)

    # when each decides for 50 requests
    def pattern(injector: FaultInjector) -> list[str]:
        decisions = [injector.decide("quotes.create") for _ in range(50)]
        return ["error" if d.error_status else "drop" if d.drop else "ok" for d in decisions]

    # then both see the same faults, a mix of all three outcomes
    assert pattern(first) == pattern(second)
    assert set(pattern(first)) == {"error", "drop", "ok"}


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("POST", "/auth/438fa74a-fa7d-4317-9ced-dde32ece1787", "grant.create"),
        ("POST", "/auth/continue/abc", "grant.continue"),
        ("DELETE", "/auth/token/abc", "token.revoke"),
        ("GET", "/op/t/incoming-payments/abc", "incoming-payments.get"),
        ("POST", "/op/t/outgoing-payments", "outgoing-payments.create"),
        ("GET", "/alice/jwks.json", "wallet.jwks"),
        ("GET", "/alice", "wallet.get"),
        ("GET", "/_admin/state", None),
    ],
)
def test_route_names(method: str, path: str, name: str | None) -> None:
    assert route_name(method, path) == name


def test_invalid_fault_configuration_is_refused(parties: Parties) -> None:
    # given a configuration with an unsupported status
    response = httpx.put(
        f"{parties.server.base_url}/_admin/faults",
        json={"routes": {"*": {"errorRate": 1, "errorStatus": 418}}},
    )

    # then 400 and the faults stay off
    assert response.status_code == 400
    assert parties.server.faults()["routes"] == {}


def test_faults_can_be_set_on_the_command_line() -> None:
    # given a wallet started with --faults
    faults = {"routes": {"wallet.get": {"errorRate": 1.0, "errorStatus": 500}}}
    seed = {"wallets": [{"name": "alice", "assetCode": "USD", "assetScale": 2}]}
    with running_wallet(seed, in_thread=True, faults=faults) as wallet:
        # when a wallet address is read / then the injected 500 comes back
        response = httpx.get(wallet.wallet_url("alice"))
        assert (response.status_code, response.json()["error"]["description"]) == (500, "injected fault")
