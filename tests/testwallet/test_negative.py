"""The refusals of acceptance item 3: status, error code, and no state change, each one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from payments.signing import json_body
from testwallet.testing import RunningWallet

from .conftest import Parties
from .opclient import amount


@contextmanager
def state_unchanged(server: RunningWallet) -> Iterator[None]:
    """Assert that nothing in the wallet's state (grants, tokens, payments, balances) changes."""
    before = server.state()
    yield
    assert server.state() == before


def gnap_error(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["description"]


def rs_error(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["description"]


INCOMING_GRANT = {"access_token": {"access": [{"type": "incoming-payment", "actions": ["create", "read"]}]}}


# --- signatures -------------------------------------------------------------------------------------


def test_bad_signature_is_refused_at_the_auth_server(
    parties: Parties, fresh_key: Callable[[str], tuple[Any, dict[str, str]]]
) -> None:
    # given a grant request signed by another key under the client's key id
    other_key, _ = fresh_key("unused")
    body = {**INCOMING_GRANT, "client": parties.client.url}

    # when it is sent / then 401 invalid_client and no grant exists
    with state_unchanged(parties.server):
        response = parties.op.hand_signed("POST", parties.bob["authServer"], body, private_key=other_key)
    assert gnap_error(response) == (401, "invalid_client", "invalid signature")


def test_bad_signature_is_refused_at_the_resource_server(
    parties: Parties, fresh_key: Callable[[str], tuple[Any, dict[str, str]]]
) -> None:
    # given a valid incoming-payment token, and a request signed by another key under the client's key id
    token = parties.op.incoming_grant(parties.bob)
    other_key, _ = fresh_key("unused")
    url = f"{parties.bob['resourceServer']}/incoming-payments"

    # when the incoming payment is created / then 401 and no payment exists
    with state_unchanged(parties.server):
        response = parties.op.hand_signed(
            "POST", url, {"walletAddress": parties.bob["id"]}, token=token, private_key=other_key
        )
    assert rs_error(response) == (401, "401", "Signature validation error: provided signature is invalid")
    assert response.json()["error"]["details"] == {
        "keyIdInSignature": parties.client.key_id,
        "client": {"walletAddress": parties.client.url},
    }


def test_unknown_key_id_is_refused(parties: Parties) -> None:
    # given requests signed with the right key but a key id the client's JWKS does not list
    token = parties.op.incoming_grant(parties.bob)
    grant_body = {**INCOMING_GRANT, "client": parties.client.url}

    # when they reach the auth server and the resource server
    with state_unchanged(parties.server):
        at_as = parties.op.hand_signed("POST", parties.bob["authServer"], grant_body, key_id="not-published")
        at_rs = parties.op.hand_signed(
            "POST",
            f"{parties.bob['resourceServer']}/incoming-payments",
            {"walletAddress": parties.bob["id"]},
            token=token,
            key_id="not-published",
        )

    # then both refuse, in Rafiki's words
    assert gnap_error(at_as) == (400, "invalid_client", "could not determine client")
    assert rs_error(at_rs) == (
        401,
        "401",
        "Signature validation error: could not find key in list of client keys",
    )
    assert at_rs.json()["error"]["details"]["keyIdInSignature"] == "not-published"


def test_body_digest_mismatch_is_refused(parties: Parties) -> None:
    # given a signed body and a different body of the same length actually sent
    token = parties.op.incoming_grant(parties.bob)
    signed = {"walletAddress": parties.bob["id"], "incomingAmount": amount(1000)}
    sent = json_body({"walletAddress": parties.bob["id"], "incomingAmount": amount(9000)})
    grant_signed = {**INCOMING_GRANT, "client": parties.client.url}
    grant_sent = json_body({**INCOMING_GRANT, "client": parties.client.url}).replace(b'"read"', b'"list"')

    # when both are sent
    with state_unchanged(parties.server):
        at_rs = parties.op.hand_signed(
            "POST", f"{parties.bob['resourceServer']}/incoming-payments", signed, token=token, sent_body=sent
        )
        at_as = parties.op.hand_signed("POST", parties.bob["authServer"], grant_signed, sent_body=grant_sent)

    # then the RS says the signature is invalid and the AS that the signature headers are
    assert rs_error(at_rs) == (401, "401", "Signature validation error: provided signature is invalid")
    assert gnap_error(at_as) == (401, "invalid_client", "invalid signature headers")


def test_python_default_json_spacing_fails_the_digest_like_rafiki(parties: Parties) -> None:
    # given a body serialised with Python's default separators, digested over those exact bytes
    import base64
    import hashlib
    import json

    from payments.signing import sign_headers

    spaced = json.dumps({**INCOMING_GRANT, "client": parties.client.url}).encode()
    headers = {"Content-Type": "application/json"}
    headers.update(
        sign_headers(
            method="POST",
            url=parties.bob["authServer"],
            headers=headers,
            body=spaced,
            private_key=parties.client.private_key,
            key_id=parties.client.key_id,
        )
    )
    assert (
        headers["Content-Digest"]
        == "sha-512=:" + base64.b64encode(hashlib.sha512(spaced).digest()).decode() + ":"
    )

    # when it is sent / then it fails as at Rafiki, where JSON.stringify(parse(body)) differs
    # (docs/protocol-notes.md §2)
    with state_unchanged(parties.server):
        response = parties.op.plain.post(parties.bob["authServer"], content=spaced, headers=headers)
    assert gnap_error(response) == (401, "invalid_client", "invalid signature headers")


def test_unsigned_requests_are_refused(parties: Parties) -> None:
    # given a valid token that may list
    token = parties.op.incoming_grant(parties.bob, actions=("list", "read"))
    url = f"{parties.bob['resourceServer']}/incoming-payments"

    # when requests arrive without Signature / Signature-Input
    with state_unchanged(parties.server):
        at_rs = parties.op.hand_signed(
            "GET",
            url + f"?wallet-address={parties.bob['id']}",
            token=token,
            drop=("Signature", "Signature-Input"),
        )
        at_as = parties.op.hand_signed(
            "POST", parties.bob["authServer"], {**INCOMING_GRANT, "client": parties.client.url},
            drop=("Signature", "Signature-Input"),
        )  # fmt: skip

    # then the RS answers as its OpenAPI validator does (400), the AS 401 invalid_client
    assert rs_error(at_rs) == (
        400,
        "400",
        "Received error validating OpenAPI request: must have required property 'signature-input'",
    )
    assert gnap_error(at_as) == (401, "invalid_client", "invalid signature headers")


# --- tokens -----------------------------------------------------------------------------------------


def test_expired_token_is_inactive(parties: Parties) -> None:
    # given a token that has outlived its expires_in
    parties.server.settings(tokenLifetimeSeconds=60)
    token = parties.op.incoming_grant(parties.bob)
    parties.server.advance_clock(61)

    # when it is used / then 403 Inactive Token with the GNAP challenge, and nothing is created
    with state_unchanged(parties.server):
        response = parties.op.post(
            f"{parties.bob['resourceServer']}/incoming-payments",
            {"walletAddress": parties.bob["id"]},
            token=token,
        )
    assert rs_error(response) == (403, "403", "Inactive Token")
    assert response.headers["www-authenticate"] == f"GNAP as_uri={parties.server.base_url}/auth"


def test_rotated_away_token_is_dead(parties: Parties) -> None:
    # given a token that was rotated
    grant = parties.op.grant(
        parties.bob, [{"type": "incoming-payment", "actions": ["create", "read"]}]
    ).json()
    old = grant["access_token"]
    rotated = parties.op.post(old["manage"], token=old["value"])
    assert rotated.status_code == 200
    new = rotated.json()["access_token"]
    assert (new["value"] != old["value"], new["manage"] != old["manage"]) == (True, True)

    # when the old token and the old manage URL are used
    with state_unchanged(parties.server):
        at_rs = parties.op.post(
            f"{parties.bob['resourceServer']}/incoming-payments",
            {"walletAddress": parties.bob["id"]},
            token=old["value"],
        )
        at_manage = parties.op.post(old["manage"], token=old["value"])

    # then the RS finds it inactive and the AS does not know the manage URL any more
    assert rs_error(at_rs) == (403, "403", "Inactive Token")
    assert gnap_error(at_manage) == (401, "invalid_client", "invalid access token")


# --- outgoing payments ------------------------------------------------------------------------------


def test_quote_used_twice_is_refused(parties: Parties) -> None:
    # given a payment made from a quote
    ip, _ = parties.incoming_payment(500)
    quote, _ = parties.quote(ip["id"])
    token = parties.outgoing_token({"debitAmount": amount(5000)})
    assert parties.pay(quote, token).status_code == 201
    parties.server.settle()  # settled now, so its settlement cannot land inside the window below

    # when the same quote is paid again / then 400 invalid quote and no second payment
    with state_unchanged(parties.server):
        response = parties.pay(quote, token)
    assert rs_error(response) == (400, "400", "invalid quote")
    assert len(parties.server.payments(parties.alice_name)["outgoingPayments"]) == 1


def test_payment_over_the_grant_limit_is_refused(parties: Parties) -> None:
    # given a grant for 1000 of which 600 is spent
    token = parties.outgoing_token({"debitAmount": amount(1000)})
    first_ip, _ = parties.incoming_payment(600)
    first_quote, _ = parties.quote(first_ip["id"])
    assert parties.pay(first_quote, token).status_code == 201
    parties.server.settle()  # settled now, so its settlement cannot land inside the window below
    second_ip, _ = parties.incoming_payment(500)
    second_quote, _ = parties.quote(second_ip["id"])

    # when 500 more is paid / then 403 unauthorized (no WWW-Authenticate) and nothing changes
    with state_unchanged(parties.server):
        response = parties.pay(second_quote, token)
    assert rs_error(response) == (403, "403", "unauthorized")
    assert "www-authenticate" not in response.headers


# --- continuation -----------------------------------------------------------------------------------


@pytest.fixture
def approved_pending(parties: Parties) -> tuple[dict[str, Any], str]:
    """An outgoing-payment grant the user accepted; returns the grant response and the interact_ref."""
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    consent = parties.op.consent(pending.json()["interact"]["redirect"])
    return pending.json(), consent.interact_ref


def test_continue_too_fast_is_refused(parties: Parties) -> None:
    # given Rafiki's default wait of 5 seconds and an accepted grant
    parties.server.settings(waitSeconds=5)
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    assert pending.json()["continue"]["wait"] == 5
    consent = parties.op.consent(pending.json()["interact"]["redirect"])

    # when the client continues at once / then 400 too_fast and no token is issued
    with state_unchanged(parties.server):
        response = parties.op.continue_(pending.json(), consent.interact_ref)
    assert gnap_error(response) == (400, "too_fast", 'continued grant faster than "wait" period')

    # and after the wait it succeeds
    parties.server.advance_clock(5)
    assert parties.op.continue_(pending.json(), consent.interact_ref).status_code == 200


def test_continue_twice_is_refused(parties: Parties, approved_pending: tuple[dict[str, Any], str]) -> None:
    # given a grant continued once
    pending, interact_ref = approved_pending
    assert parties.op.continue_(pending, interact_ref).status_code == 200

    # when it is continued again / then 401 request_denied, no second token
    with state_unchanged(parties.server):
        response = parties.op.continue_(pending, interact_ref)
    assert gnap_error(response) == (401, "request_denied", "grant interaction not approved")


def test_continue_with_a_wrong_interact_ref_is_refused(
    parties: Parties, approved_pending: tuple[dict[str, Any], str]
) -> None:
    # given an accepted grant
    pending, _ = approved_pending

    # when it is continued with an interact_ref that is not its own / then 404 invalid_continuation
    with state_unchanged(parties.server):
        response = parties.op.continue_(pending, "00000000-0000-4000-8000-000000000000")
    assert gnap_error(response) == (404, "invalid_continuation", "grant not found")


def test_declined_grant_redirects_with_grant_rejected_and_cannot_be_continued(parties: Parties) -> None:
    # given a pending grant
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})

    # when the user declines
    consent = parties.op.consent(pending.json()["interact"]["redirect"], accept=False)

    # then the client is sent back with result=grant_rejected (its own query kept) and cannot continue
    assert consent.location == "http://127.0.0.1:9/callback?job=42&result=grant_rejected"
    with state_unchanged(parties.server):
        response = parties.op.continue_(pending.json(), "00000000-0000-4000-8000-000000000000")
    assert gnap_error(response) == (404, "invalid_continuation", "grant not found")
