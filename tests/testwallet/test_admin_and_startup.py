"""Admin API, seed file, --state persistence, and the testwallet.testing helper."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from testwallet.__main__ import _config
from testwallet.app import build_store, create_app
from testwallet.config import options_from_args
from testwallet.testing import RunningWallet, WalletStartError, running_wallet

from .conftest import Parties

SEED = {
    "wallets": [
        {"name": "alice", "publicName": "Alice", "assetCode": "USD", "assetScale": 2, "balance": "100000"},
        {"name": "bob", "publicName": "Bob", "assetCode": "EUR", "assetScale": 2},
    ]
}


def test_admin_api_is_refused_unless_enabled() -> None:
    # given a wallet started without --admin
    with running_wallet(SEED, in_thread=True, admin=False) as wallet:
        # when any admin route is called / then 403 and the Open Payments routes still work
        response = httpx.get(f"{wallet.base_url}/_admin/state")
        assert response.status_code == 403
        assert response.json() == {"error": "the admin API is disabled; start the wallet with --admin"}
        assert httpx.get(wallet.wallet_url("alice")).status_code == 200


def test_seed_wallets_are_served_with_their_balances() -> None:
    # given the seed format
    with running_wallet(SEED, in_thread=True) as wallet:
        # then the wallets exist with their assets and balances
        assert wallet.wallet("alice")["balance"] == "100000"
        assert (wallet.wallet("bob")["assetCode"], wallet.balance("bob")) == ("EUR", 0)


def test_bad_seed_stops_the_wallet_at_start_up(tmp_path: Path) -> None:
    # given a seed with an invalid asset scale
    seed = {"wallets": [{"name": "alice", "assetCode": "USD", "assetScale": "2"}]}

    # when the wallet process starts / then it exits with the reason in its log
    with pytest.raises(WalletStartError, match="assetScale must be an integer"), running_wallet(seed):
        pass


@pytest.mark.parametrize(
    ("_case", "body", "status"),
    [
        ("reserved name", {"name": "auth", "assetCode": "USD", "assetScale": 2}, 400),
        (
            "private key",
            {
                "name": "x-1",
                "assetCode": "USD",
                "assetScale": 2,
                "keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "a", "d": "b"}],
            },
            400,
        ),
        ("float balance", {"name": "x-2", "assetCode": "USD", "assetScale": 2, "balance": 1.5}, 400),
    ],
)
def test_invalid_wallets_are_refused(
    wallet: RunningWallet, _case: str, body: dict[str, Any], status: int
) -> None:
    # when the admin API is asked for an invalid wallet / then it is refused
    response = httpx.post(f"{wallet.base_url}/_admin/wallets", json=body)
    assert response.status_code == status


def test_duplicate_wallet_is_a_conflict(wallet: RunningWallet, unique: Callable[[str], str]) -> None:
    # given an existing wallet
    name = unique("dup")
    wallet.create_wallet(name)

    # when created again / then 409
    response = httpx.post(
        f"{wallet.base_url}/_admin/wallets", json={"name": name, "assetCode": "USD", "assetScale": 2}
    )
    assert response.status_code == 409


def test_balance_keys_and_payments_through_the_admin_api(parties: Parties) -> None:
    # given alice
    server = parties.server

    # when her balance is set, a key added twice under one kid, and a payment made
    server.set_balance(parties.alice_name, "2500")
    first = {"kid": "k1", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kty": "OKP", "crv": "Ed25519"}
    second = {**first, "x": "oy0L_vTygNE4IogRyn_F5GmHXdqYVjIXkWs2jky7zsI"}
    server.add_key(parties.alice_name, first)
    jwks = server.add_key(parties.alice_name, second)
    ip, _ = parties.incoming_payment(100)
    quote, _ = parties.quote(ip["id"])
    payment = parties.pay(quote, parties.outgoing_token(None)).json()
    server.settle()

    # then the balance is the new one less the payment, the kid was replaced, and the payment is listed
    assert server.balance(parties.alice_name) == 2400
    assert jwks == {"keys": [{**second, "alg": "EdDSA"}]}
    outgoing = server.payments(parties.alice_name)["outgoingPayments"]
    assert [(p["id"], p["state"], p["failure"]) for p in outgoing] == [(payment["id"], "completed", None)]
    incoming = server.payments(parties.bob_name)["incomingPayments"]
    assert [(p["id"], p["completed"], p["client"]) for p in incoming] == [
        (ip["id"], True, parties.client.url)
    ]


def test_settings_are_validated(wallet: RunningWallet) -> None:
    # when unknown or invalid settings are sent / then 400 and nothing changes
    before = wallet.settings()
    for body in ({"nope": 1}, {"waitSeconds": -1}, {"autoConsent": "maybe"}, {"fees": {"*": {"fixed": "x"}}}):
        assert httpx.put(f"{wallet.base_url}/_admin/settings", json=body).status_code == 400
    assert wallet.settings() == before


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    # given a wallet with --state that received an incoming payment
    state = tmp_path / "state.json"
    with running_wallet(SEED, state=state) as wallet:
        client = wallet.create_client("platform", public_name="Platform")
        from payments.signing import SignatureAuth, json_body

        with httpx.Client(auth=SignatureAuth(client.private_key, client.key_id)) as http:
            bob = http.get(wallet.wallet_url("bob")).json()
            grant = http.post(
                bob["authServer"],
                content=json_body(
                    {
                        "access_token": {
                            "access": [{"type": "incoming-payment", "actions": ["create", "read"]}]
                        },
                        "client": client.url,
                    }
                ),
                headers={"Content-Type": "application/json"},
            ).json()
            ip = http.post(
                f"{bob['resourceServer']}/incoming-payments",
                content=json_body({"walletAddress": bob["id"]}),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"GNAP {grant['access_token']['value']}",
                },
            ).json()
        wallet.set_balance("alice", 777)
    assert state.exists()

    # when a new wallet process starts from the same state file (here on another port: resources keep
    # their ids; start with the same --port or --public-url to keep stored URLs such as receivers valid)
    with running_wallet(None, state=state) as again:
        # then balances, wallets, grants and payments are back
        assert again.balance("alice") == 777
        restored = again.state()
        assert [w["name"] for w in restored["wallets"]] == ["alice", "bob", "platform"]
        assert [p["id"] for p in restored["incoming"]] == [ip["id"].rsplit("/", 1)[1]]
        assert len(restored["tokens"]) == 1


def test_testing_helper_runs_in_a_thread_with_direct_store_access() -> None:
    # given an in-thread wallet
    with running_wallet(SEED, in_thread=True, wait=2, auto_consent="accept") as wallet:
        # then it answers on its base URL and exposes its store and settings
        assert httpx.get(wallet.wallet_url("alice")).json()["authServer"] == wallet.auth_server
        assert wallet.store is not None and set(wallet.store.wallets) == {"alice", "bob"}
        assert (wallet.settings()["waitSeconds"], wallet.settings()["autoConsent"]) == (2, "accept")
        identity = wallet.create_client("platform")
        assert identity.private_key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
        assert httpx.get(f"{identity.url}/jwks.json").json() == {"keys": [identity.public_jwk]}


def test_stats_count_requests_per_route_until_reset() -> None:
    # given a fresh wallet
    with running_wallet(SEED, in_thread=True) as wallet:
        # when a client fetches a wallet address twice, its keys once, and asks for a grant
        httpx.get(wallet.wallet_url("alice"))
        httpx.get(wallet.wallet_url("alice"))
        httpx.get(f"{wallet.wallet_url('alice')}/jwks.json")
        httpx.post(wallet.auth_server, json={})  # unsigned: refused, but still a request
        wallet.state()  # admin calls are not counted

        # then each is counted under its route name, and a reset returns them and starts from zero
        expected = {"requests": 4, "routes": {"grant.create": 1, "wallet.get": 2, "wallet.jwks": 1}}
        assert wallet.stats() == expected
        assert wallet.stats(reset=True) == expected
        assert wallet.stats() == {"requests": 0, "routes": {}}


def test_the_wallet_process_serves_with_the_c_http_parser_on_uvloop() -> None:
    # given the wallet's command line
    options = options_from_args([])

    # when its server configuration loads
    config = _config(options, create_app(options, build_store(options, "http://127.0.0.1:1")), None)
    config.load()

    # then
    assert config.http_protocol_class is HttpToolsProtocol
    assert config.get_loop_factory() is uvloop.new_event_loop
