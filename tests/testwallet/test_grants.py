"""Grant requests at the auth server: which are approved at once, which need a user, which are refused."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from payments.keys import generate_private_key, public_jwk
from testwallet.testing import RunningWallet, running_wallet

from .conftest import Parties, make_op_client
from .opclient import OPClient, amount
from .openapi_check import SpecValidator


@contextmanager
def no_new_grants(server: RunningWallet) -> Iterator[None]:
    before = server.state()
    yield
    assert server.state() == before


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["description"]


def test_quote_grant_is_approved_at_once(parties: Parties) -> None:
    # given a quote grant request
    # when it is sent
    response = parties.op.grant(parties.alice, [{"type": "quote", "actions": ["create", "read"]}])

    # then a token comes back at once, access echoed in Rafiki's key order, continue without wait
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"]["access"] == [{"actions": ["create", "read"], "type": "quote"}]
    assert body["access_token"]["expires_in"] == 600
    assert set(body["continue"]) == {"access_token", "uri"}


def test_incoming_payment_grant_echoes_its_identifier(parties: Parties) -> None:
    # given an incoming-payment grant scoped to bob
    access = [{"type": "incoming-payment", "actions": ["create"], "identifier": parties.bob["id"]}]

    # when it is requested / then the echo keeps Rafiki's order actions, identifier, type
    response = parties.op.grant(parties.bob, access)
    assert response.status_code == 200
    assert list(response.json()["access_token"]["access"][0]) == ["actions", "identifier", "type"]


def test_interactive_grant_answers_with_interaction_instructions(parties: Parties) -> None:
    # given an outgoing-payment grant request with a finish redirect
    parties.server.settings(waitSeconds=5)

    # when it is sent
    response, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(1020)})

    # then it is pending: redirect with the client's name, a 16-hex finish nonce, continue with wait 5
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["interact", "continue"]
    redirect, finish = body["interact"]["redirect"], body["interact"]["finish"]
    assert re.fullmatch(r"[0-9A-F]{16}", finish)
    base = parties.server.base_url
    client_uri = parties.client.url.replace(":", "%3A").replace("/", "%2F")
    assert re.fullmatch(
        rf"{re.escape(base)}/auth/interact/[0-9a-f-]{{36}}/{finish}\?clientName=Job\+Board&clientUri={re.escape(client_uri)}",
        redirect,
    )
    assert body["continue"]["wait"] == 5


@pytest.mark.parametrize(
    ("_case", "access", "extra", "expected"),
    [
        (
            "outgoing payment without identifier (schema)",
            [{"type": "outgoing-payment", "actions": ["create"]}],
            {},
            (
                400,
                "invalid_request",
                "Received error validating OpenAPI request: "
                "body/access_token/access/0 must have required property 'identifier'",
            ),
        ),
        (
            "list-all needs a user, hence an identifier",
            [{"type": "incoming-payment", "actions": ["list-all"]}],
            {},
            (400, "invalid_request", "access identifier required"),
        ),
        (
            "interactive grant without interact",
            [{"type": "outgoing-payment", "actions": ["create"], "identifier": "{alice}"}],
            {},
            (400, "invalid_request", "missing required request field 'interact'"),
        ),
        (
            "debitAmount and receiveAmount together",
            [
                {
                    "type": "outgoing-payment",
                    "actions": ["create"],
                    "identifier": "{alice}",
                    "limits": {"debitAmount": amount(1), "receiveAmount": amount(1)},
                }
            ],
            {"interact": {"start": ["redirect"]}},
            (400, "invalid_request", "only one access amount allowed"),
        ),
        (
            "unknown action",
            [{"type": "quote", "actions": ["list"]}],
            {},
            (
                400,
                "invalid_request",
                "Received error validating OpenAPI request: "
                "body/access_token/access/0/actions/0 must be equal to one of the allowed values",
            ),
        ),
    ],
)
def test_invalid_grant_requests_are_refused(
    parties: Parties,
    _case: str,
    access: list[dict[str, Any]],
    extra: dict[str, Any],
    expected: tuple[int, str, str],
) -> None:
    # given a grant request that breaks one rule
    for item in access:
        if item.get("identifier") == "{alice}":
            item["identifier"] = parties.alice["id"]

    # when it is sent / then it is refused and no grant is stored
    with no_new_grants(parties.server):
        response = parties.op.grant(parties.alice, access, **extra)
    assert error(response) == expected


def test_request_without_client_is_refused(parties: Parties) -> None:
    # given a body without client
    body = {"access_token": {"access": [{"type": "quote", "actions": ["create"]}]}}

    # when sent / then 400 invalid_request naming the missing property
    with no_new_grants(parties.server):
        response = parties.op.post(parties.alice["authServer"], body)
    assert error(response) == (
        400,
        "invalid_request",
        "Received error validating OpenAPI request: body must have required property 'client'",
    )


def test_client_without_public_name_may_not_start_an_interaction(
    wallet: RunningWallet, parties: Parties, validator: SpecValidator, unique: Callable[[str], str]
) -> None:
    # given a client wallet with no publicName (it can still get non-interactive grants)
    nameless = make_op_client(wallet.create_client(unique("nameless"), public_name=None), validator)
    assert (
        nameless.grant(parties.bob, [{"type": "incoming-payment", "actions": ["create"]}]).status_code == 200
    )

    # when it asks for an outgoing-payment grant / then 400 invalid_client, as Rafiki
    with no_new_grants(parties.server):
        response, _ = nameless.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    assert error(response) == (400, "invalid_client", "missing required request field 'client'")
    nameless.close()


def test_client_with_an_empty_public_name_may_not_start_an_interaction(
    wallet: RunningWallet, parties: Parties, validator: SpecValidator, unique: Callable[[str], str]
) -> None:
    # given a client whose publicName is ""
    blank = make_op_client(wallet.create_client(unique("blank"), public_name=""), validator)

    # when it asks for an interactive grant / then it is refused like a missing name
    with no_new_grants(parties.server):
        response, _ = blank.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    assert error(response) == (400, "invalid_client", "missing required request field 'client'")
    blank.close()


def test_client_object_form_with_wallet_address_is_accepted(parties: Parties) -> None:
    # given the spec's object form of client
    body = {
        "access_token": {"access": [{"type": "quote", "actions": ["create"]}]},
        "client": {"walletAddress": parties.client.url},
    }

    # when sent / then approved
    assert parties.op.post(parties.alice["authServer"], body).status_code == 200


def test_directed_identity_client_gets_non_interactive_grants_only(
    parties: Parties, validator: SpecValidator
) -> None:
    # given a client that identifies by a JWK in the request, with no wallet address
    key = generate_private_key()
    jwk = public_jwk(key, "directed-1")
    op = OPClient(client_url="", key_id="directed-1", private_key=key, validator=validator)
    quote_grant = {
        "access_token": {"access": [{"type": "quote", "actions": ["create"]}]},
        "client": {"jwk": jwk},
    }
    outgoing = {
        "access_token": {
            "access": [{"type": "outgoing-payment", "actions": ["create"], "identifier": parties.alice["id"]}]
        },
        "client": {"jwk": jwk},
        "interact": {"start": ["redirect"]},
    }

    # when it asks for a quote grant and for an outgoing-payment grant
    approved = op.post(parties.alice["authServer"], quote_grant)
    with no_new_grants(parties.server):
        refused = op.post(parties.alice["authServer"], outgoing)

    # then the first is approved (signature checked against the JWK) and the second refused
    assert approved.status_code == 200
    assert error(refused) == (400, "invalid_client", "missing required request field 'client'")
    op.close()


def test_unknown_tenant_is_not_found(parties: Parties) -> None:
    # given the grant endpoint with another tenant segment
    url = parties.alice["authServer"].rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"

    # when a grant is requested there / then 404
    response = parties.op.post(url, {"access_token": {"access": []}, "client": parties.client.url})
    assert response.status_code == 404


def test_client_hosted_elsewhere_has_its_jwks_fetched_over_http(
    parties: Parties, validator: SpecValidator
) -> None:
    # given a client whose wallet address lives on another wallet server
    with running_wallet(None, in_thread=True) as elsewhere:
        identity = elsewhere.create_client("remote-platform", public_name="Remote Platform")
        op = make_op_client(identity, validator)

        # when it requests a non-interactive and an interactive grant from our wallet
        approved = op.grant(parties.bob, [{"type": "incoming-payment", "actions": ["create"]}])
        pending, _ = op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})

        # then the signatures verify against the fetched JWKS and the publicName is used
        assert approved.status_code == 200
        assert pending.status_code == 200
        assert "clientName=Remote+Platform" in pending.json()["interact"]["redirect"]
        op.close()

    # and once that server is gone, the client cannot be determined
    parties.server.settings(jwksCacheSeconds=0)
    gone = make_op_client(identity, validator)
    with no_new_grants(parties.server):
        response = gone.grant(parties.bob, [{"type": "incoming-payment", "actions": ["create"]}])
    assert error(response) == (400, "invalid_client", "could not determine client")
    gone.close()


def test_subject_grant_is_interactive_and_returns_the_subject(parties: Parties) -> None:
    # given a subject-only grant request
    parties.server.settings(autoConsent="accept")
    body = {
        "subject": {"sub_ids": [{"id": parties.alice["id"], "format": "uri"}]},
        "client": parties.client.url,
        "interact": {
            "start": ["redirect"],
            "finish": {"method": "redirect", "uri": "http://127.0.0.1:9/cb", "nonce": "n"},
        },
    }

    # when it is requested, consented and continued
    pending = parties.op.post(parties.alice["authServer"], body).json()
    location = httpx.get(pending["interact"]["redirect"]).headers["location"]
    interact_ref = httpx.URL(location).params["interact_ref"]
    continued = parties.op.continue_(pending, interact_ref)

    # then the subject comes back and no access token (none was asked for)
    assert continued.status_code == 200
    assert continued.json()["subject"] == {"sub_ids": [{"id": parties.alice["id"], "format": "uri"}]}
    assert "access_token" not in continued.json()
