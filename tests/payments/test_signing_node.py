"""Interop with the official Node signer and verifier, @interledger/http-signature-utils 2.0.3."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from payments import SignatureAuth, SignatureError
from payments.keys import jwks, private_key_pem, public_jwk
from payments.signing import json_body, sign_headers, verify_request

pytestmark = pytest.mark.node

KEY_ID = "client-key-1"
RunNode = Callable[[str, Any], Any]

NON_ASCII_BODY = json_body(
    {
        "walletAddress": "https://wallet.example/bob",
        "incomingAmount": {"value": "1000", "assetCode": "EUR", "assetScale": 2},
        "metadata": {"description": "Paiement reçu — 東京 ☕", "externalRef": "job-42"},
    }
)
# (name, method, url the client uses, url the server sees, headers, body)
REQUESTS = [
    (
        "post non-ascii",
        "POST",
        "https://rs.example/t/incoming-payments",
        "https://rs.example/t/incoming-payments",
        {"Authorization": "GNAP OS9M2PMHKUR64TB8N6BW"},
        NON_ASCII_BODY,
    ),
    (
        "get authorized",
        "GET",
        "https://rs.example/t/incoming-payments/8c68",
        "https://rs.example/t/incoming-payments/8c68",
        {"Authorization": "GNAP OS9M2PMHKUR64TB8N6BW"},
        b"",
    ),
    (
        "delete authorized",
        "DELETE",
        "https://auth.example/continue/4CF4",
        "https://auth.example/continue/4CF4",
        {"Authorization": "GNAP 33OMUKMKSKU80UPRY5NM"},
        b"",
    ),
    (
        "bare origin",
        "POST",
        "https://auth.example",
        "https://auth.example/",
        {},
        json_body(
            {
                "access_token": {"access": [{"type": "quote", "actions": ["create", "read"]}]},
                "client": "https://wallet.example/me",
            }
        ),
    ),
    (
        "query",
        "GET",
        "https://rs.example/t/incoming-payments?wallet-address=https%3A%2F%2Fwallet.example%2Fbob&first=10",
        "https://rs.example/t/incoming-payments?wallet-address=https%3A%2F%2Fwallet.example%2Fbob&first=10",
        {"Authorization": "GNAP OS9M2PMHKUR64TB8N6BW"},
        b"",
    ),
]


def _ours(
    key: Ed25519PrivateKey,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    created: int | None = None,
) -> dict[str, str]:
    return headers | sign_headers(
        method=method, url=url, headers=headers, body=body, private_key=key, key_id=KEY_ID, created=created
    )


def _wire(method: str, url: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    return {"method": method, "url": url, "headers": headers, "body": body.decode() if body else None}


def test_official_verifier_accepts_requests_we_sign(client_key: Ed25519PrivateKey, run_node: RunNode) -> None:
    # given each kind of request, signed by us
    requests = [
        _wire(method, seen, _ours(client_key, method, url, headers, body), body)
        for _, method, url, seen, headers, body in REQUESTS
    ]

    # when the official verifier checks them as Rafiki does
    results = run_node("verify.js", {"jwk": public_jwk(client_key, KEY_ID), "requests": requests})

    # then every one is valid
    assert results == [{"headersValid": True, "signatureValid": True}] * len(REQUESTS)


def test_official_verifier_accepts_requests_sent_through_signature_auth(
    client_key: Ed25519PrivateKey, run_node: RunNode
) -> None:
    # given requests captured on the wire from an httpx client using SignatureAuth
    captured: list[httpx.Request] = []

    def app(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(app), auth=SignatureAuth(client_key, KEY_ID)) as client:
        for _, method, url, _seen, headers, body in REQUESTS:
            client.request(method, url, headers=headers, content=body or None)

    # when the official verifier checks them with the URL the server sees
    requests = [
        _wire(r.method, seen, dict(r.headers), r.content)
        for r, (*_, seen, _h, _b) in zip(captured, REQUESTS, strict=True)
    ]
    results = run_node("verify.js", {"jwk": public_jwk(client_key, KEY_ID), "requests": requests})

    # then every one is valid
    assert results == [{"headersValid": True, "signatureValid": True}] * len(REQUESTS)


def test_official_verifier_rejects_tampered_requests(
    client_key: Ed25519PrivateKey, run_node: RunNode
) -> None:
    # given a POST we signed, then changed in method, URL, body or Authorization
    url = "https://rs.example/t/incoming-payments"
    headers = _ours(client_key, "POST", url, {"Authorization": "GNAP OS9M2PMHKUR64TB8N6BW"}, NON_ASCII_BODY)
    tampered = [
        _wire("PUT", url, headers, NON_ASCII_BODY),
        _wire("POST", url + "/other", headers, NON_ASCII_BODY),
        _wire("POST", url, headers, NON_ASCII_BODY.replace(b"1000", b"9000")),
        _wire("POST", url, headers | {"Authorization": "GNAP STOLEN0000000000000"}, NON_ASCII_BODY),
    ]

    # when the official verifier checks them
    results = run_node("verify.js", {"jwk": public_jwk(client_key, KEY_ID), "requests": tampered})

    # then none is accepted (a changed body already fails the digest check)
    assert results == [
        {"headersValid": True, "signatureValid": False},
        {"headersValid": True, "signatureValid": False},
        {"headersValid": False, "signatureValid": False},
        {"headersValid": True, "signatureValid": False},
    ]


def _node_signed(client_key: Ed25519PrivateKey, run_node: RunNode) -> list[dict[str, str]]:
    requests = [_wire(method, seen, headers, body) for _, method, _url, seen, headers, body in REQUESTS]
    signed: list[dict[str, str]] = run_node(
        "sign.js",
        {"privateKeyPem": private_key_pem(client_key).decode(), "keyId": KEY_ID, "requests": requests},
    )
    return signed


def test_we_accept_requests_the_official_signer_signs(
    client_key: Ed25519PrivateKey, run_node: RunNode
) -> None:
    # given each kind of request, signed by the official createHeaders()
    signed = _node_signed(client_key, run_node)

    # when our verifier checks them
    key_ids = [
        verify_request(
            method=method,
            url=seen,
            headers=headers | added,
            body=body,
            jwks=jwks(public_jwk(client_key, KEY_ID)),
        )
        for (_, method, _url, seen, headers, body), added in zip(REQUESTS, signed, strict=True)
    ]

    # then all verify with our key id, and a tampered copy does not
    assert key_ids == [KEY_ID] * len(REQUESTS)
    _, method, _url, seen, headers, body = REQUESTS[0]
    with pytest.raises(SignatureError) as caught:
        verify_request(
            method=method,
            url=seen + "x",
            headers=headers | signed[0],
            body=body,
            jwks=[public_jwk(client_key, KEY_ID)],
        )
    assert caught.value.reason == "invalid signature"


def test_same_key_and_created_give_the_same_headers_as_the_official_signer(
    client_key: Ed25519PrivateKey, run_node: RunNode
) -> None:
    # given the official signer's output and the `created` it chose
    signed = _node_signed(client_key, run_node)

    # when we sign the same requests with the same key and `created`
    ours = []
    for (_, method, url, _seen, headers, body), theirs in zip(REQUESTS, signed, strict=True):
        created = int(re.search(r";created=(\d+)", theirs["Signature-Input"]).group(1))  # type: ignore[union-attr]
        ours.append(
            sign_headers(
                method=method,
                url=url,
                headers=headers,
                body=body,
                private_key=client_key,
                key_id=KEY_ID,
                created=created,
            )
        )

    # then every header, Signature bytes included, is identical
    assert ours == signed
