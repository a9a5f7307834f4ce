"""Grant continuation, cancellation, token rotation and revocation (docs/protocol-notes.md §5, §6, §11)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import Parties
from .opclient import amount


def gnap(response: httpx.Response) -> tuple[int, dict[str, str]]:
    return response.status_code, response.json()["error"]


@pytest.fixture
def issued(parties: Parties) -> tuple[dict[str, Any], dict[str, Any]]:
    """An outgoing-payment grant, accepted and continued: (the pending response, the continue response)."""
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(5000)})
    consent = parties.op.consent(pending.json()["interact"]["redirect"])
    continued = parties.op.continue_(pending.json(), consent.interact_ref)
    assert continued.status_code == 200
    return pending.json(), continued.json()


def test_continue_response_keeps_the_continue_token_and_has_no_wait(
    issued: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    # given a grant continued after consent
    pending, continued = issued

    # then the access token is issued and continue is the same URI and token, without wait
    assert continued["continue"] == {
        "access_token": pending["continue"]["access_token"],
        "uri": pending["continue"]["uri"],
    }
    assert list(continued["access_token"]) == ["access", "value", "manage", "expires_in"]


def test_polling_a_grant_that_has_finish_is_refused(parties: Parties) -> None:
    # given a grant created with a finish redirect
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})

    # when the client polls with no body and with {}
    empty = parties.op.continue_(pending.json(), None)
    braces = parties.op.post(
        pending.json()["continue"]["uri"], {}, token=pending.json()["continue"]["access_token"]["value"]
    )

    # then both are 401 request_denied "grant cannot be polled"
    refusal = (401, {"code": "request_denied", "description": "grant cannot be polled"})
    assert gnap(empty) == refusal
    assert gnap(braces) == refusal


def test_polling_too_often_is_too_fast(parties: Parties) -> None:
    # given a polling grant and a wait of 2 s
    parties.server.settings(waitSeconds=2)
    pending, _ = parties.op.outgoing_grant(
        parties.alice, limits={"debitAmount": amount(100)}, finish_uri=None
    )

    # when the client polls at once, after the wait, and at once again
    first = parties.op.continue_(pending.json(), None)
    parties.server.advance_clock(2)
    second = parties.op.continue_(pending.json(), None)
    third = parties.op.continue_(pending.json(), None)

    # then too fast, still pending (wait counted from this poll), too fast again
    too_fast = (400, {"code": "too_fast", "description": 'polled grant faster than "wait" period'})
    assert gnap(first) == too_fast
    assert second.json() == {"continue": {**pending.json()["continue"], "wait": 2}}
    assert gnap(third) == too_fast


def test_wrong_continue_token_and_missing_authorization_are_refused(parties: Parties) -> None:
    # given a pending grant
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})
    uri = pending.json()["continue"]["uri"]

    # when continued with another token, and with no Authorization at all
    wrong = parties.op.post(uri, {"interact_ref": "x"}, token="0123456789ABCDEF0123")
    missing = parties.op.hand_signed("POST", uri, {"interact_ref": "x"})

    # then invalid_continuation and invalid_client (Rafiki's httpsig middleware)
    assert gnap(wrong) == (401, {"code": "invalid_continuation", "description": "invalid grant"})
    assert gnap(missing) == (401, {"code": "invalid_client", "description": "invalid signature headers"})


def test_non_empty_body_without_interact_ref_is_refused(parties: Parties) -> None:
    # given a pending grant
    pending, _ = parties.op.outgoing_grant(parties.alice, limits={"debitAmount": amount(100)})

    # when continued with a body lacking interact_ref
    response = parties.op.post(
        pending.json()["continue"]["uri"],
        {"other": 1},
        token=pending.json()["continue"]["access_token"]["value"],
    )

    # then invalid_request with Rafiki's description, as a 404: the spec allows invalid_request on
    # POST /continue only there (Rafiki answers 401, which the spec does not allow with this code)
    assert gnap(response) == (
        404,
        {"code": "invalid_request", "description": "missing interaction reference"},
    )


def test_lost_continuation_token_stays_live_until_the_grant_is_cancelled(
    parties: Parties, issued: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    # given a continuation whose response the client lost (the token was issued)
    pending, continued = issued
    lost = continued["access_token"]
    spent_url = f"{parties.alice['resourceServer']}/outgoing-payment-grant"
    assert parties.op.get(spent_url, token=lost["value"]).json() == {
        "spentDebitAmount": None,
        "spentReceiveAmount": None,
    }

    # when the client cancels the grant (DELETE continue URI), twice
    token = pending["continue"]["access_token"]["value"]
    first = parties.op.delete(pending["continue"]["uri"], token=token)
    second = parties.op.delete(pending["continue"]["uri"], token=token)

    # then the orphan token and its manage URL are dead, and a second cancel is invalid_continuation
    assert first.status_code == 204 and first.content == b""
    assert gnap(second) == (401, {"code": "invalid_continuation", "description": "invalid grant"})
    at_rs = parties.op.get(spent_url, token=lost["value"])
    assert (at_rs.status_code, at_rs.json()) == (
        403,
        {"error": {"code": "403", "description": "Inactive Token"}},
    )
    assert gnap(parties.op.post(lost["manage"], token=lost["value"])) == (
        401,
        {"code": "invalid_client", "description": "invalid access token"},
    )


def test_rotation_changes_value_and_manage_url_but_not_access(
    parties: Parties, issued: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    # given an issued token
    _, continued = issued
    old = continued["access_token"]

    # when it is rotated
    rotated = parties.op.post(old["manage"], token=old["value"])

    # then only access_token comes back, with a new value and manage URL and the same access
    assert rotated.status_code == 200
    assert list(rotated.json()) == ["access_token"]
    new = rotated.json()["access_token"]
    assert new["access"] == old["access"]
    assert new["value"] != old["value"] and new["manage"] != old["manage"]
    assert new["expires_in"] == 600
    spent = parties.op.get(f"{parties.alice['resourceServer']}/outgoing-payment-grant", token=new["value"])
    assert spent.status_code == 200


def test_new_manage_url_rotates_even_with_a_stale_token_value(
    parties: Parties, issued: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    # given a token rotated once
    _, continued = issued
    old = continued["access_token"]
    new = parties.op.post(old["manage"], token=old["value"]).json()["access_token"]

    # when the new manage URL is called with the old value in Authorization
    again = parties.op.post(new["manage"], token=old["value"])

    # then Rafiki's behaviour: the manage id identifies the token, so it rotates again
    assert again.status_code == 200


def test_revoked_token_is_inactive_and_cannot_be_revoked_again(
    parties: Parties, issued: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    # given an issued token
    _, continued = issued
    token = continued["access_token"]

    # when it is revoked twice
    first = parties.op.delete(token["manage"], token=token["value"])
    second = parties.op.delete(token["manage"], token=token["value"])

    # then 204, then 401 invalid_client; the RS finds it inactive
    assert first.status_code == 204
    assert gnap(second) == (401, {"code": "invalid_client", "description": "invalid access token"})
    response = parties.op.get(
        f"{parties.alice['resourceServer']}/outgoing-payment-grant", token=token["value"]
    )
    assert response.status_code == 403


def test_an_expired_token_can_be_rotated(parties: Parties) -> None:
    # given a token past its lifetime
    parties.server.settings(tokenLifetimeSeconds=15)
    grant = parties.op.grant(
        parties.bob, [{"type": "incoming-payment", "actions": ["read", "create", "list"]}]
    )
    token = grant.json()["access_token"]
    parties.server.advance_clock(16)
    list_url = f"{parties.bob['resourceServer']}/incoming-payments"
    expired = parties.op.get(list_url, token=token["value"], params={"wallet-address": parties.bob["id"]})
    assert expired.status_code == 403

    # when it is rotated / then the new token works at once
    rotated = parties.op.post(token["manage"], token=token["value"])
    assert rotated.status_code == 200
    assert rotated.json()["access_token"]["expires_in"] == 15
    fresh = parties.op.get(
        list_url, token=rotated.json()["access_token"]["value"], params={"wallet-address": parties.bob["id"]}
    )
    assert fresh.status_code == 200


@pytest.mark.parametrize(
    ("_case", "authorization", "expected"),
    [
        ("no header", None, (401, "Missing or invalid authorization header value")),
        ("Bearer scheme", "Bearer ABC", (401, "Missing or invalid authorization header value")),
        ("unknown token", "GNAP 0123456789ABCDEF0123", (403, "Inactive Token")),
    ],
)
def test_resource_server_token_checks_carry_the_gnap_challenge(
    parties: Parties, _case: str, authorization: str | None, expected: tuple[int, str]
) -> None:
    # given a request to the RS with a bad or missing token
    headers = {"Authorization": authorization} if authorization else {}

    # when sent
    response = parties.op.plain.get(
        f"{parties.alice['resourceServer']}/outgoing-payment-grant", headers=headers
    )

    # then Rafiki's answer with WWW-Authenticate naming the auth base (without tenant)
    assert (response.status_code, response.json()["error"]["description"]) == expected
    assert response.headers["www-authenticate"] == f"GNAP as_uri={parties.server.base_url}/auth"


def test_token_for_another_type_or_wallet_is_insufficient(parties: Parties) -> None:
    # given a quote token, and an incoming-payment token scoped to alice
    quote_token = parties.op.quote_grant(parties.alice)
    alice_only = parties.op.grant(
        parties.bob, [{"type": "incoming-payment", "actions": ["create"], "identifier": parties.alice["id"]}]
    ).json()["access_token"]["value"]
    url = f"{parties.bob['resourceServer']}/incoming-payments"

    # when they are used to create an incoming payment on bob
    wrong_type = parties.op.post(url, {"walletAddress": parties.bob["id"]}, token=quote_token)
    wrong_wallet = parties.op.post(url, {"walletAddress": parties.bob["id"]}, token=alice_only)

    # then 403 Insufficient Grant
    for response in (wrong_type, wrong_wallet):
        assert (response.status_code, response.json()["error"]["description"]) == (403, "Insufficient Grant")
