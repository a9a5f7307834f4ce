"""payments.interaction: the finish hash, checked against the reference wallet (docs/protocol-notes.md §4)."""

from __future__ import annotations

import pytest

from payments.interaction import finish_hash, finish_hash_candidates, verify_finish_hash

# The finish hash the reference wallet (Rafiki) produced for these inputs (docs/protocol-notes.md §4).
CLIENT_NONCE = "d1dc5070-9a7c-4492-96c8-545d0672993d"
AS_NONCE = "60CE94025B3FAF6B"
INTERACT_REF = "2e9714f7-83a7-4c12-bb94-728bdae41ee9"
AUTH_SERVER = "http://127.0.0.1:4006/438fa74a-fa7d-4317-9ced-dde32ece1787"
RAFIKI_HASH = "7XIGYovijTwXg1IZ8d/GsdU7Jfn2rDN2W73aNP4WPR8="


def _verify(received: str, auth_server: str = AUTH_SERVER) -> bool:
    return verify_finish_hash(
        received=received,
        client_nonce=CLIENT_NONCE,
        interact_nonce=AS_NONCE,
        interact_ref=INTERACT_REF,
        auth_server=auth_server,
    )


def test_finish_hash_reproduces_rafiki_live_output() -> None:
    # given the nonces, interact_ref and advertised authServer of the live run
    # when the hash is computed
    got = finish_hash(
        client_nonce=CLIENT_NONCE, interact_nonce=AS_NONCE, interact_ref=INTERACT_REF, grant_url=AUTH_SERVER
    )

    # then it is Rafiki's value, standard padded base64
    assert got == RAFIKI_HASH


def test_finish_hash_of_the_open_payments_docs_example() -> None:
    # given the Open Payments docs' example inputs (docs/protocol-notes.md §4)
    # when hashed / then it is the value Rafiki's digest('base64') gives
    assert (
        finish_hash(
            client_nonce="VJLO6A4CATR0KRO",
            interact_nonce="MBDOFXG4Y5CVJCX821LH",
            interact_ref="4IFWWIKYB2PQ6U56NL1",
            grant_url="https://server.example.com/tx",
        )
        == "x+gguKWTj8rQf7d7i3w3UhzvuJ5bpOlKyAlVpLxBffY="
    )


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (RAFIKI_HASH, True),  # authServer as advertised (current Rafiki)
        ("7XIGYovijTwXg1IZ8d_GsdU7Jfn2rDN2W73aNP4WPR8", True),  # same, URL-safe unpadded (GNAP style)
        ("uCjtHDXBM91svVKv4IXUxMRGZacY35mPMDCqJrligqw=", True),  # authServer + "/"
        ("qyemKrWFZX0xthFBPUnfmNiNibt/tgOuJqwoK8Bs+fE=", True),  # origin + "/" (older Rafiki)
        (
            "Cm+lZGhWHzi0guWkiJ5XckyamvnMDow5GSzaLp/3Zuw=",
            False,
        ),  # origin without slash: no deployment uses it
        ("7XIGYovijTwXg1IZ8d/GsdU7Jfn2rDN2W73aNP4WPQ8=", False),  # one bit off
        ("qyemKrWFZX0xthFBPUnfmNiNibt/tgOuJqwoK8Bs fE=", True),  # "+" decoded as a space by a query parser
        ("not base64!", False),
        ("", False),
    ],
)
def test_verify_finish_hash_accepts_only_the_candidate_urls(received: str, expected: bool) -> None:
    # given a received hash / when verified against the advertised authServer / then only candidates match
    assert _verify(received) is expected


def test_verify_finish_hash_rejects_other_nonces() -> None:
    # given Rafiki's hash but a different client nonce
    # when verified / then it fails
    assert (
        verify_finish_hash(
            received=RAFIKI_HASH,
            client_nonce="attacker-nonce",
            interact_nonce=AS_NONCE,
            interact_ref=INTERACT_REF,
            auth_server=AUTH_SERVER,
        )
        is False
    )


def test_candidates_cover_tenant_base_and_trailing_slash_forms() -> None:
    # given a tenant-style grant URL under a path prefix
    # when its candidates are listed / then they are as given, toggled slash, origin, and parent
    assert finish_hash_candidates("https://auth.example/op/3f1c") == [
        "https://auth.example/op/3f1c",
        "https://auth.example/op/3f1c/",
        "https://auth.example/",
        "https://auth.example/op/",
    ]
    assert finish_hash_candidates("https://auth.example/") == [
        "https://auth.example/",
        "https://auth.example",
    ]
