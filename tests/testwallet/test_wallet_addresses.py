"""Wallet-address server: wallet JSON, JWKS, unknown names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from testwallet.testing import RunningWallet

from .conftest import Parties


def test_wallet_json_has_rafikis_fields_and_a_tenant_auth_server(parties: Parties) -> None:
    # given the receiver wallet created through the admin API
    server = parties.server

    # when it is fetched
    response = parties.op.get(server.wallet_url(parties.bob_name))

    # then it has exactly Rafiki's fields, in order, with URLs under a tenant path segment
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert list(response.json()) == [
        "id",
        "publicName",
        "assetCode",
        "assetScale",
        "authServer",
        "resourceServer",
    ]
    assert response.json() == {
        "id": f"{server.base_url}/{parties.bob_name}",
        "publicName": "Bob",
        "assetCode": "USD",
        "assetScale": 2,
        "authServer": f"{server.base_url}/auth/{server.tenant}",
        "resourceServer": f"{server.base_url}/op/{server.tenant}",
    }


def test_wallet_without_public_name_omits_it(
    wallet: RunningWallet, parties: Parties, unique: Callable[[str], str]
) -> None:
    # given a wallet created without publicName
    name = unique("anon")
    wallet.create_wallet(name, asset_code="EUR", asset_scale=3)

    # when it is fetched / then publicName is absent, not null (null breaks the spec)
    body = parties.op.wallet(wallet.wallet_url(name))
    assert "publicName" not in body
    assert (body["assetCode"], body["assetScale"]) == ("EUR", 3)


def test_jwks_is_empty_without_keys_and_lists_keys_added_later(
    wallet: RunningWallet, parties: Parties, fresh_key: Callable[[str], tuple[Any, dict[str, str]]]
) -> None:
    # given a wallet with no keys
    url = wallet.wallet_url(parties.alice_name)
    assert parties.op.get(f"{url}/jwks.json").json() == {"keys": []}

    # when a public key is added through the admin API
    _, jwk = fresh_key("alice-key-1")
    wallet.add_key(parties.alice_name, jwk)

    # then the JWKS serves it at once
    response = parties.op.get(f"{url}/jwks.json")
    assert response.status_code == 200
    assert response.json() == {"keys": [jwk]}
    assert set(jwk) == {"kid", "x", "alg", "kty", "crv"}


def test_unknown_wallet_and_its_jwks_are_404(parties: Parties, unique: Callable[[str], str]) -> None:
    # given a name nobody created
    name = unique("nobody")
    url = parties.server.wallet_url(name)

    # when both documents are fetched
    wallet_response = parties.op.get(url)
    jwks_response = parties.op.get(f"{url}/jwks.json")

    # then both are Rafiki's 404
    assert wallet_response.status_code == 404
    assert wallet_response.json() == {
        "error": {
            "code": "404",
            "description": "Could not get wallet address",
            "details": {"walletAddressUrl": url},
        }
    }
    assert jwks_response.status_code == 404
