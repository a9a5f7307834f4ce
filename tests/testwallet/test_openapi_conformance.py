"""Acceptance 1: every Open Payments operation, in success and in error, answers what the specs allow.

Every test in this folder validates each response through the OPClient hook; this one makes a tour of
all operations with its own validator and then checks that each (operation, status) it expects was
actually seen and validated.
"""

from __future__ import annotations

from typing import Any

from testwallet.testing import RunningWallet

from .conftest import Parties, make_op_client
from .opclient import amount
from .openapi_check import SpecValidator

EXPECTED = {
    # wallet-address server
    "GET wallet-address-server / 200",
    "GET wallet-address-server / 404",
    "GET wallet-address-server /jwks.json 200",
    "GET wallet-address-server /jwks.json 404",
    # auth server
    "POST auth-server / 200",
    "POST auth-server / 400",
    "POST auth-server / 401",
    "POST auth-server /continue/{id} 200",
    "POST auth-server /continue/{id} 400",
    "POST auth-server /continue/{id} 401",
    "POST auth-server /continue/{id} 404",
    "DELETE auth-server /continue/{id} 204",
    "DELETE auth-server /continue/{id} 401",
    "POST auth-server /token/{id} 200",
    "POST auth-server /token/{id} 401",
    "DELETE auth-server /token/{id} 204",
    "DELETE auth-server /token/{id} 401",
    # resource server
    "POST resource-server /incoming-payments 201",
    "POST resource-server /incoming-payments 400",
    "POST resource-server /incoming-payments 401",
    "POST resource-server /incoming-payments 403",
    "GET resource-server /incoming-payments 200",
    "GET resource-server /incoming-payments 400",
    "GET resource-server /incoming-payments/{id} 200",
    "GET resource-server /incoming-payments/{id} 401",
    "GET resource-server /incoming-payments/{id} 404",
    "POST resource-server /incoming-payments/{id}/complete 200",
    "POST resource-server /quotes 201",
    "POST resource-server /quotes 400",
    "GET resource-server /quotes/{id} 200",
    "GET resource-server /quotes/{id} 403",
    "POST resource-server /outgoing-payments 201",
    "POST resource-server /outgoing-payments 400",
    "POST resource-server /outgoing-payments 403",
    "POST resource-server /outgoing-payments 404",
    "GET resource-server /outgoing-payments 200",
    "GET resource-server /outgoing-payments 403",
    "GET resource-server /outgoing-payments/{id} 200",
    "GET resource-server /outgoing-payments/{id} 401",
    "GET resource-server /outgoing-payment-grant 200",
    "GET resource-server /outgoing-payment-grant 401",
    "GET resource-server /outgoing-payment-grant 403",
}


def test_every_operation_answers_within_the_specs(wallet: RunningWallet, parties: Parties) -> None:
    # given a client whose every response goes through a fresh validator
    validator = SpecValidator(wallet.base_url, wallet.tenant)
    op = make_op_client(parties.client, validator)
    alice, bob = parties.alice, parties.bob
    rs = alice["resourceServer"]
    unknown_wallet = f"{wallet.base_url}/nobody-{parties.alice_name}"

    # when every operation is called, successfully and not
    op.get(alice["id"])
    op.get(f"{alice['id']}/jwks.json")
    op.get(unknown_wallet)
    op.get(f"{unknown_wallet}/jwks.json")

    ip_grant = op.grant(
        bob, [{"type": "incoming-payment", "actions": ["create", "read", "complete", "list"]}]
    ).json()
    ip_token = ip_grant["access_token"]
    op.post(bob["authServer"], {"client": parties.client.url})  # 400 invalid_request
    op.hand_signed("POST", bob["authServer"], {"access_token": {"access": []}, "client": parties.client.url},
                   drop=("Signature",))  # fmt: skip  # 401
    ip = op.post(
        f"{rs}/incoming-payments",
        {"walletAddress": bob["id"], "incomingAmount": amount(500)},
        token=ip_token["value"],
    ).json()
    op.post(
        f"{rs}/incoming-payments",
        {"walletAddress": bob["id"], "incomingAmount": amount(0)},
        token=ip_token["value"],
    )
    op.post(f"{rs}/incoming-payments", {"walletAddress": bob["id"]})  # 401
    op.post(f"{rs}/incoming-payments", {"walletAddress": bob["id"]}, token="0123456789ABCDEF0123")  # 403
    op.get(f"{rs}/incoming-payments", token=ip_token["value"], params={"wallet-address": bob["id"]})
    op.get(f"{rs}/incoming-payments", token=ip_token["value"])  # 400
    op.get(ip["id"], token=ip_token["value"])
    op.get(ip["id"])  # public view
    op.get(
        ip["id"].rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000", token=ip_token["value"]
    )  # 401

    quote_token = op.quote_grant(alice)
    quote = op.post(
        f"{rs}/quotes",
        {"walletAddress": alice["id"], "receiver": ip["id"], "method": "ilp"},
        token=quote_token,
    ).json()
    op.post(
        f"{rs}/quotes",
        {"walletAddress": alice["id"], "receiver": ip["id"], "method": "ilp", "debitAmount": amount(0)},
        token=quote_token,
    )
    op.get(quote["id"], token=quote_token)
    op.get(quote["id"], token=ip_token["value"])  # 403 Insufficient Grant

    pending_response, _ = op.outgoing_grant(
        alice, limits={"debitAmount": amount(500)}, actions=("create", "read", "list")
    )
    pending: dict[str, Any] = pending_response.json()
    op.continue_(pending, None)  # 401 grant cannot be polled
    op.continue_(pending, "00000000-0000-4000-8000-000000000000")  # 404
    consent = op.consent(pending["interact"]["redirect"])
    wallet.settings(waitSeconds=5)
    op.continue_(pending, consent.interact_ref)  # 400 too_fast
    wallet.advance_clock(5)
    wallet.settings(waitSeconds=0)
    token = op.continue_(pending, consent.interact_ref).json()["access_token"]
    op.get(f"{rs}/outgoing-payment-grant", token=token["value"])  # nulls
    op.hand_signed("GET", f"{rs}/outgoing-payment-grant", token=token["value"], key_id="nope")  # 401
    op.post(
        f"{rs}/outgoing-payments",
        {
            "walletAddress": alice["id"],
            "quoteId": quote["id"].replace(
                quote["id"].rsplit("/", 1)[1], "00000000-0000-4000-8000-000000000000"
            ),
        },
        token=token["value"],
    )  # 404
    payment = op.post(
        f"{rs}/outgoing-payments",
        {"walletAddress": alice["id"], "quoteId": quote["id"]},
        token=token["value"],
    ).json()
    op.post(
        f"{rs}/outgoing-payments",
        {"walletAddress": alice["id"], "quoteId": quote["id"]},
        token=token["value"],
    )  # 400
    second_ip = op.post(
        f"{rs}/incoming-payments",
        {"walletAddress": bob["id"], "incomingAmount": amount(100)},
        token=ip_token["value"],
    ).json()
    second_quote = op.post(
        f"{rs}/quotes",
        {"walletAddress": alice["id"], "receiver": second_ip["id"], "method": "ilp"},
        token=quote_token,
    ).json()
    op.post(
        f"{rs}/outgoing-payments",
        {"walletAddress": alice["id"], "quoteId": second_quote["id"]},
        token=token["value"],
    )  # 403
    wallet.settle()
    op.get(payment["id"], token=token["value"])
    op.get(
        payment["id"].rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000", token=token["value"]
    )  # 401
    op.get(
        f"{rs}/outgoing-payments", token=token["value"], params={"wallet-address": alice["id"], "first": 5}
    )
    op.get(f"{rs}/outgoing-payments", token=ip_token["value"], params={"wallet-address": alice["id"]})  # 403
    op.get(f"{rs}/outgoing-payment-grant", token=token["value"])
    op.post(f"{second_ip['id']}/complete", token=ip_token["value"])
    op.get(second_ip["id"], token=quote_token)  # 403
    stranger = wallet.create_client(f"other-{parties.alice_name}", public_name="Other")
    other = make_op_client(stranger, validator)
    other.get(ip["id"], token=other.incoming_grant(bob, actions=("read",)))  # 404
    other.close()

    rotated = op.post(token["manage"], token=token["value"]).json()["access_token"]
    op.post(token["manage"], token=token["value"])  # 401
    op.delete(rotated["manage"], token=rotated["value"])
    op.delete(rotated["manage"], token=rotated["value"])  # 401
    op.get(f"{rs}/outgoing-payment-grant", token=rotated["value"])  # 403
    op.delete(pending["continue"]["uri"], token=pending["continue"]["access_token"]["value"])
    op.delete(pending["continue"]["uri"], token=pending["continue"]["access_token"]["value"])  # 401
    op.close()

    # then each expected (operation, status) was seen, and every response validated
    missing = EXPECTED - set(validator.checked)
    assert not missing, f"not exercised: {sorted(missing)}"
    assert sum(validator.checked.values()) >= len(EXPECTED)


def test_undeclared_statuses_still_use_the_specs_error_schema(
    wallet: RunningWallet, parties: Parties
) -> None:
    # given injected 503s (no spec declares them) on a resource-server and an auth-server route
    validator = SpecValidator(wallet.base_url, wallet.tenant)
    op = make_op_client(parties.client, validator)
    wallet.faults(
        {"routes": {"quotes.create": {"errorNext": 1, "errorStatus": 503}, "grant.create": {"errorNext": 1}}}
    )

    # when both are called
    quote = op.post(
        f"{parties.alice['resourceServer']}/quotes", {"walletAddress": parties.alice["id"]}, token="X" * 20
    )
    grant = op.grant(parties.alice, [{"type": "quote", "actions": ["create"]}])
    op.close()

    # then the RS 503 (undeclared) matched the error-response schema, and the AS 500 its declared
    # request_denied schema
    assert (quote.status_code, grant.status_code) == (503, 500)
    assert dict(validator.undeclared) == {"POST resource-server /quotes 503": 1}
    assert validator.checked["POST auth-server / 500"] == 1
