"""payments.signing: verify_request reasons, SignatureAuth on httpx, target URIs."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.resolvers import MappingKeyResolver
from hypothesis import given
from hypothesis import strategies as st

from payments import SignatureAuth, SignatureError
from payments.keys import jwks, public_jwk
from payments.signing import json_body, sign_headers, signature_key_id, target_uri, verify_request

KEY_ID = "client-key-1"
URL = "https://rs.example/tenant/incoming-payments"
BODY = json_body({"walletAddress": "https://wallet.example/bob", "metadata": {"note": "Zoë"}})


def _signed(
    key: Ed25519PrivateKey,
    *,
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    token: str | None = "T1",  # noqa: S107 - a fake GNAP token
) -> dict[str, str]:
    headers = {"Authorization": f"GNAP {token}"} if token else {}
    return headers | sign_headers(
        method=method, url=url, headers=headers, body=body, private_key=key, key_id=KEY_ID, created=1700000000
    )


def _reason(call: Callable[[], object]) -> str:
    with pytest.raises(SignatureError) as caught:
        call()
    return caught.value.reason


def test_accepts_our_signature_with_headers_in_any_case(client_key: Ed25519PrivateKey) -> None:
    # given a signed POST whose header names arrive in mixed case
    headers = {name.upper(): value for name, value in _signed(client_key).items()}

    # when it is verified
    key_id = verify_request(
        method="POST", url=URL, headers=headers, body=BODY, jwks=jwks(public_jwk(client_key, KEY_ID))
    )

    # then the key id that verified is returned
    assert key_id == KEY_ID
    assert signature_key_id(headers) == KEY_ID


def test_accepts_a_jwk_list_and_picks_the_key_by_kid(client_key: Ed25519PrivateKey) -> None:
    # given a JWKS with another key first
    other = public_jwk(Ed25519PrivateKey.generate(), "other")

    # when it is verified against a plain list of JWKs
    key_id = verify_request(
        method="POST",
        url=URL,
        headers=_signed(client_key),
        body=BODY,
        jwks=[other, public_jwk(client_key, KEY_ID)],
    )

    # then the matching key verified
    assert key_id == KEY_ID


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda h, b: ({}, b, "POST", URL), "missing signature headers"),
        (
            lambda h, b: ({k: v for k, v in h.items() if k != "Signature"}, b, "POST", URL),
            "missing signature headers",
        ),
        (lambda h, b: (h, b, "PUT", URL), "invalid signature"),
        (lambda h, b: (h, b, "POST", URL + "x"), "invalid signature"),
        (lambda h, b: (h | {"Authorization": "GNAP T2"}, b, "POST", URL), "invalid signature"),
        (lambda h, b: (h | {"Signature": "sig1=:AAAA:"}, b, "POST", URL), "invalid signature"),
        (lambda h, b: (h, b.replace(b"bob", b"eve"), "POST", URL), "content digest mismatch"),
        (lambda h, b: (h | {"Signature-Input": "sig1=garbage"}, b, "POST", URL), "malformed signature input"),
        (
            lambda h, b: (
                h | {"Signature-Input": h["Signature-Input"].replace("sig1=", "sig2=")},
                b,
                "POST",
                URL,
            ),
            "malformed signature input",
        ),
        (
            lambda h, b: (
                h | {"Signature-Input": h["Signature-Input"].replace('"@method"', '"@METHOD"')},
                b,
                "POST",
                URL,
            ),
            "malformed signature input",
        ),
        (
            lambda h, b: (
                h | {"Signature-Input": h["Signature-Input"].replace(';keyid="client-key-1"', "")},
                b,
                "POST",
                URL,
            ),
            "malformed signature input",
        ),
        (
            lambda h, b: (
                h | {"Signature-Input": h["Signature-Input"].replace("client-key-1", "nobody")},
                b,
                "POST",
                URL,
            ),
            "unknown key id",
        ),
    ],
)
def test_rejects_with_a_stable_reason(client_key: Ed25519PrivateKey, tamper, reason: str) -> None:  # type: ignore[no-untyped-def]
    # given a validly signed POST, tampered in one way
    headers, body, method, url = tamper(_signed(client_key), BODY)

    # when it is verified
    got = _reason(
        lambda: verify_request(
            method=method, url=url, headers=headers, body=body, jwks=jwks(public_jwk(client_key, KEY_ID))
        )
    )

    # then the reason names the problem
    assert got == reason


def test_rejects_a_signature_by_another_key_with_the_same_kid(client_key: Ed25519PrivateKey) -> None:
    # given a request signed by a different key that claims our key id
    headers = _signed(Ed25519PrivateKey.generate())

    # when it is verified against our JWKS
    got = _reason(
        lambda: verify_request(
            method="POST", url=URL, headers=headers, body=BODY, jwks=jwks(public_jwk(client_key, KEY_ID))
        )
    )

    # then the signature is invalid
    assert got == "invalid signature"


def test_rejects_uncovered_authorization_and_uncovered_body(client_key: Ed25519PrivateKey) -> None:
    # given a POST signed without Authorization that gets one, and a GET signed without body that gets one
    no_auth = _signed(client_key, token=None) | {"Authorization": "GNAP T1"}
    no_body = _signed(client_key, method="GET", body=b"")
    keys = jwks(public_jwk(client_key, KEY_ID))

    # when each is verified
    auth_reason = _reason(
        lambda: verify_request(method="POST", url=URL, headers=no_auth, body=BODY, jwks=keys)
    )
    body_reason = _reason(
        lambda: verify_request(method="GET", url=URL, headers=no_body, body=BODY, jwks=keys)
    )

    # then each names what was not covered
    assert auth_reason == "authorization not covered"
    assert body_reason == "missing content digest"


def test_rejects_a_body_that_javascript_would_reserialise_differently(client_key: Ed25519PrivateKey) -> None:
    # given bodies digested over their raw bytes: Python default spacing, and escaped non-ASCII
    keys = jwks(public_jwk(client_key, KEY_ID))
    spaced = b'{"walletAddress": "https://wallet.example/bob"}'
    escaped = b'{"note":"Zo\\u00eb"}'

    # when they are verified
    reasons = [
        _reason(
            lambda b=b: verify_request(
                method="POST", url=URL, headers=_signed(client_key, body=b), body=b, jwks=keys
            )
        )
        for b in (spaced, escaped)
    ]

    # then both fail as Rafiki would fail them
    assert reasons == ["content digest mismatch", "content digest mismatch"]


def test_signature_key_id_requires_headers() -> None:
    # given no signature headers / when the key id is asked for / then the reason says so
    assert (
        _reason(lambda: signature_key_id({"Content-Type": "application/json"})) == "missing signature headers"
    )


def test_rfc_9421_verifier_of_http_message_signatures_accepts_our_signature(
    client_key: Ed25519PrivateKey,
) -> None:
    # given our signed POST, as an httpx request
    request = httpx.Request("POST", URL, headers=_signed(client_key), content=BODY)
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={KEY_ID: client_key.public_key()}, private_keys={}),
    )

    # when the maintained RFC 9421 library verifies it, including the Content-Digest over the body
    results = verifier.verify(request, max_age=datetime.timedelta(days=36500), body=BODY)

    # then it accepts exactly our covered components
    assert [result.label for result in results] == ["sig1"]
    assert list(results[0].covered_components) == [
        '"@method"',
        '"@target-uri"',
        '"authorization"',
        '"content-digest"',
        '"content-length"',
        '"content-type"',
        '"@signature-params"',
    ]


class _VerifyingApp:
    """A fake server that records each request and whether its signature verified."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.jwks = jwks(public_jwk(key, KEY_ID))
        self.seen: list[tuple[str, str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        try:
            outcome: str | None = verify_request(
                method=request.method,
                url=str(request.url),
                headers=request.headers,
                body=request.content,
                jwks=self.jwks,
            )
        except SignatureError as error:
            outcome = None if error.reason == "missing signature headers" else error.reason
        self.seen.append((request.method, str(request.url), outcome))
        return httpx.Response(200, json={})


def test_signature_auth_signs_posts_and_authorized_requests_only(client_key: Ed25519PrivateKey) -> None:
    # given an httpx client with SignatureAuth and a verifying fake server
    app = _VerifyingApp(client_key)
    with httpx.Client(transport=httpx.MockTransport(app), auth=SignatureAuth(client_key, KEY_ID)) as client:
        # when it sends the Open Payments request kinds
        client.post("https://auth.example", content=json_body({"client": "https://wallet.example/me"}))
        client.post("https://auth.example/token/1", headers={"Authorization": "GNAP T"})
        client.get(
            URL + "?wallet-address=https%3A%2F%2Fwallet.example%2Fbob&first=10",
            headers={"Authorization": "GNAP T"},
        )
        client.delete("https://auth.example/continue/1", headers={"Authorization": "GNAP C"})
        client.get("https://wallet.example/bob")

    # then every request but the unauthenticated GET is signed and verifies
    assert app.seen == [
        ("POST", "https://auth.example", KEY_ID),
        ("POST", "https://auth.example/token/1", KEY_ID),
        ("GET", URL + "?wallet-address=https%3A%2F%2Fwallet.example%2Fbob&first=10", KEY_ID),
        ("DELETE", "https://auth.example/continue/1", KEY_ID),
        ("GET", "https://wallet.example/bob", None),
    ]


def test_signature_auth_repr_hides_the_key(client_key: Ed25519PrivateKey) -> None:
    # given an auth object / when it is shown / then only the key id appears
    assert repr(SignatureAuth(client_key, KEY_ID)) == "SignatureAuth(key_id='client-key-1')"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://auth.example", "https://auth.example/"),
        ("https://auth.example?x=1", "https://auth.example/?x=1"),
        ("http://127.0.0.1:4006/438fa74a", "http://127.0.0.1:4006/438fa74a"),
        ("https://Auth.Example:443/a b", "https://auth.example/a%20b"),
        ("https://a.example/x/../y?q=é", "https://a.example/y?q=%C3%A9"),
        (
            "https://a.example/p?wallet-address=https%3A%2F%2Fw.example%2Fbob",
            "https://a.example/p?wallet-address=https%3A%2F%2Fw.example%2Fbob",
        ),
    ],
)
def test_target_uri_is_what_the_server_sees(url: str, expected: str) -> None:
    # given a URL as a caller writes it / when its target URI is taken / then it is what goes on the wire
    assert target_uri(url) == expected


_URL_CHARS = st.text(alphabet="abcXYZ019-._~!$&'()*+,;=:@%/?#[] é", max_size=20)


@given(
    scheme=st.sampled_from(["http", "https"]),
    host=st.sampled_from(["a.example", "A.example", "127.0.0.1"]),
    port=st.sampled_from(["", ":80", ":443", ":8443"]),
    rest=_URL_CHARS,
)
def test_target_uri_fast_path_agrees_with_httpx(scheme: str, host: str, port: str, rest: str) -> None:
    # given any URL / when the target URI is computed / then it equals the one derived from httpx's parse
    url = f"{scheme}://{host}{port}{rest}"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return
    assert target_uri(url) == target_uri(parsed)
