"""payments.keys: loading, generating and publishing Ed25519 keys."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from payments import InvalidKeyError, OpenPaymentsError
from payments.keys import (
    generate_private_key,
    jwks,
    load_private_key,
    private_key_pem,
    public_jwk,
    public_key_from_jwk,
)

# RFC 9421 Appendix B.1.4 test-key-ed25519.
RFC_PEM = b"""-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
RFC_X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_loads_pem_bytes_pem_str_base64_and_path(tmp_path: Path) -> None:
    # given the RFC test key as a file, as bytes, as text and base64-encoded
    path = tmp_path / "private.pem"
    path.write_bytes(RFC_PEM)
    path.chmod(0o600)
    sources: list[object] = [path, str(path), RFC_PEM, RFC_PEM.decode(), base64.b64encode(RFC_PEM).decode()]

    # when each is loaded
    keys = [load_private_key(source) for source in sources]  # type: ignore[arg-type]

    # then all are the same Ed25519 key
    assert {public_jwk(key, "k")["x"] for key in keys} == {RFC_X}


@pytest.mark.parametrize(
    ("other_key", "name"),
    [
        (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "an RSA key"),
        (lambda: ec.generate_private_key(ec.SECP256R1()), "an EC secp256r1 key"),
        (ed448.Ed448PrivateKey.generate, "an Ed448 key"),
    ],
)
def test_rejects_other_key_types_naming_the_type(other_key, name) -> None:  # type: ignore[no-untyped-def]
    # given a PKCS#8 PEM of a non-Ed25519 key
    pem = other_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    # when it is loaded
    with pytest.raises(InvalidKeyError) as caught:
        load_private_key(pem)

    # then the error names the key type and what is needed, and is an OpenPaymentsError
    assert str(caught.value) == f"private key is {name}, but Open Payments needs Ed25519"
    assert isinstance(caught.value, OpenPaymentsError)


def test_rejects_garbage_and_missing_file(tmp_path: Path) -> None:
    # given text that is no key, and a path that does not exist
    # when / then each fails with a message that does not echo the input
    with pytest.raises(InvalidKeyError, match=r"^private key is neither PEM, base64 of PEM, nor a path"):
        load_private_key("not a key")
    with pytest.raises(InvalidKeyError, match=r"^cannot read private key file"):
        load_private_key(tmp_path / "missing.pem")
    with pytest.raises(InvalidKeyError, match=r"^private key PEM could not be parsed$"):
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_generated_key_round_trips_through_pem() -> None:
    # given a new key
    key = generate_private_key()

    # when it is written as PEM and loaded again
    pem = private_key_pem(key)
    loaded = load_private_key(pem)

    # then it is PKCS#8 and the same key
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert _raw_public(loaded) == _raw_public(key)


def test_public_jwk_and_jwks_shape() -> None:
    # given the RFC test key
    key = load_private_key(RFC_PEM)

    # when its JWK and JWKS are built
    jwk = public_jwk(key, "test-key-ed25519")
    document = jwks(jwk)

    # then they have exactly the members Rafiki publishes
    assert jwk == {"kid": "test-key-ed25519", "x": RFC_X, "alg": "EdDSA", "kty": "OKP", "crv": "Ed25519"}
    assert document == {"keys": [jwk]}
    assert public_jwk(key.public_key(), "test-key-ed25519") == jwk


def test_public_key_from_jwk_round_trip_and_rejections() -> None:
    # given the RFC key's JWK
    jwk = public_jwk(load_private_key(RFC_PEM), "k")

    # when it is turned back into a key
    public = public_key_from_jwk(jwk)

    # then it is the same key, and other key types are refused clearly
    assert public.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == base64.urlsafe_b64decode(RFC_X + "=")
    with pytest.raises(
        InvalidKeyError, match=r"^JWK must be kty OKP with crv Ed25519, got kty='EC' crv='P-256'$"
    ):
        public_key_from_jwk({"kty": "EC", "crv": "P-256", "x": "a", "y": "b"})
    with pytest.raises(
        InvalidKeyError, match=r"^JWK must be kty OKP with crv Ed25519, got kty='OKP' crv='X25519'$"
    ):
        public_key_from_jwk({**jwk, "crv": "X25519"})
    with pytest.raises(InvalidKeyError, match=r"^JWK 'x' must decode to 32 bytes, got 3$"):
        public_key_from_jwk({**jwk, "x": "AAAA"})
    with pytest.raises(InvalidKeyError, match=r"^JWK alg must be EdDSA, got 'ES256'$"):
        public_key_from_jwk({**jwk, "alg": "ES256"})


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666])
def test_refuses_a_key_file_group_or_others_may_access(tmp_path: Path, mode: int) -> None:
    # given the key in a file that group or others can access
    path = tmp_path / "private.pem"
    path.write_bytes(RFC_PEM)
    path.chmod(mode)

    # when / then loading it, by path or by path text, names the file, its mode and the fix
    for source in (path, str(path)):
        with pytest.raises(
            InvalidKeyError, match=rf"accessible to group or others \(mode {mode:04o}\); run chmod 600"
        ):
            load_private_key(source)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_loads_a_key_file_only_its_owner_may_read(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "private.pem"
    path.write_bytes(RFC_PEM)
    path.chmod(mode)
    assert public_jwk(load_private_key(path), "k")["x"] == RFC_X
