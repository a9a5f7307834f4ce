"""Signing against fixed reference outputs: RFC 9421 Appendix B.2.6 and the pinned profile shape."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from payments.keys import load_private_key
from payments.signing import json_body, sign_headers, signature_base

# RFC 9421 Appendix B.1.4, test-key-ed25519.
RFC_9421_ED25519_PEM = b"""-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
# RFC 9421 Appendix B.2.6: the B.2 test request signed with test-key-ed25519.
RFC_9421_B26_PARAMS = (
    '("date" "@method" "@path" "@authority" "content-type" "content-length");'
    'created=1618884473;keyid="test-key-ed25519"'
)
RFC_9421_B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ' + RFC_9421_B26_PARAMS
)
RFC_9421_B26_SIGNATURE = (
    "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
)


def test_rfc9421_b26_ed25519_signature_is_reproduced() -> None:
    # given the B.2 request's covered components and the B.1.4 key
    key = load_private_key(RFC_9421_ED25519_PEM)
    components = [
        ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("@method", "POST"),
        ("@path", "/foo"),
        ("@authority", "example.com"),
        ("content-type", "application/json"),
        ("content-length", "18"),
    ]

    # when our signature base is built and signed
    base = signature_base(components, RFC_9421_B26_PARAMS)
    signature = base64.b64encode(key.sign(base)).decode()

    # then both equal the RFC's published values
    assert base == RFC_9421_B26_BASE.encode()
    assert signature == RFC_9421_B26_SIGNATURE


def test_profile_headers_for_a_post_with_authorization(client_key: Ed25519PrivateKey) -> None:
    # given a body with non-ASCII metadata and a GNAP token
    body = json_body({"walletAddress": "https://wallet.example/bob", "metadata": {"description": "Café ☕"}})

    # when the request is signed at a pinned time
    added = sign_headers(
        method="post",
        url="https://rs.example/incoming-payments",
        headers={"authorization": "GNAP TOKEN123"},
        body=body,
        private_key=client_key,
        key_id="client-key-1",
        created=1717171717,
    )

    # then the headers follow the createHeaders profile exactly
    digest = base64.b64encode(hashlib.sha512(body).digest()).decode()
    params = (
        '("@method" "@target-uri" "authorization" "content-digest" "content-length" "content-type");'
        'keyid="client-key-1";created=1717171717'
    )
    expected_base = (
        '"@method": POST\n'
        '"@target-uri": https://rs.example/incoming-payments\n'
        '"authorization": GNAP TOKEN123\n'
        f'"content-digest": sha-512=:{digest}:\n'
        f'"content-length": {len(body)}\n'
        '"content-type": application/json\n'
        f'"@signature-params": {params}'
    ).encode()
    assert (
        body == '{"walletAddress":"https://wallet.example/bob","metadata":{"description":"Café ☕"}}'.encode()
    )
    assert added == {
        "Content-Digest": f"sha-512=:{digest}:",
        "Content-Length": str(len(body)),
        "Content-Type": "application/json",
        "Signature": "sig1=:" + base64.b64encode(client_key.sign(expected_base)).decode() + ":",
        "Signature-Input": "sig1=" + params,
    }


def test_profile_headers_without_body_or_authorization(client_key: Ed25519PrivateKey) -> None:
    # given a bare-origin grant URL and no body
    # when it is signed
    added = sign_headers(
        method="POST",
        url="https://auth.example",
        headers={},
        body=b"",
        private_key=client_key,
        key_id="k",
        created=1,
    )

    # then only the signature headers are added, over the URL as the server sees it ("/")
    base = (
        b'"@method": POST\n"@target-uri": https://auth.example/\n'
        b'"@signature-params": ("@method" "@target-uri");keyid="k";created=1'
    )
    assert added == {
        "Signature": "sig1=:" + base64.b64encode(client_key.sign(base)).decode() + ":",
        "Signature-Input": 'sig1=("@method" "@target-uri");keyid="k";created=1',
    }
