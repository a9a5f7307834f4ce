"""Ed25519 keys for Open Payments clients: load, generate, and publish as JWK (docs/protocol-notes.md §1)."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .exceptions import InvalidKeyError

__all__ = [
    "generate_private_key",
    "jwks",
    "load_private_key",
    "private_key_pem",
    "public_jwk",
    "public_key_from_jwk",
]

_PEM_MARKER = b"-----BEGIN"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pem_bytes(source: str | bytes | os.PathLike[str]) -> bytes:
    """Turn a path, PEM text or base64-of-PEM into PEM bytes."""
    if isinstance(source, os.PathLike):
        return _read_key_file(Path(source))
    data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    stripped = data.strip()
    if stripped.startswith(_PEM_MARKER):
        return stripped
    # Test wallets hand out the PEM base64-encoded (the Node SDK's loadBase64Key).
    try:
        decoded = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if decoded.strip().startswith(_PEM_MARKER):
        return decoded.strip()
    if isinstance(source, str) and len(source) < 4096 and "\n" not in source:
        path = Path(source)
        if path.is_file():
            return _read_key_file(path)
        raise InvalidKeyError("private key is neither PEM, base64 of PEM, nor a path to an existing file")
    raise InvalidKeyError("private key is neither PEM nor base64 of PEM")


def _read_key_file(path: Path) -> bytes:
    """The file's bytes, refused when group or others may access it (it must be 0600 or 0400)."""
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise InvalidKeyError(
                f"private key file {str(path)!r} is accessible to group or others (mode {mode:04o});"
                " run chmod 600 on it"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidKeyError(f"cannot read private key file {str(path)!r}: {exc.strerror}") from None
    return _pem_bytes(data)


def _key_kind(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an EC {key.curve.name} key"
    kinds: list[tuple[type, str]] = [
        (rsa.RSAPrivateKey, "an RSA key"),
        (dsa.DSAPrivateKey, "a DSA key"),
        (ed448.Ed448PrivateKey, "an Ed448 key"),
        (x25519.X25519PrivateKey, "an X25519 key"),
        (x448.X448PrivateKey, "an X448 key"),
    ]
    return next((name for kind, name in kinds if isinstance(key, kind)), f"a {type(key).__name__}")


def load_private_key(source: str | bytes | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load an Ed25519 private key from a PKCS#8 PEM file path, PEM bytes/str, or base64 of the PEM."""
    pem = _pem_bytes(source)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise InvalidKeyError("private key is encrypted; an unencrypted PKCS#8 PEM is required") from None
    except (ValueError, binascii.Error):
        raise InvalidKeyError("private key PEM could not be parsed") from None
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm for exotic keys
        raise InvalidKeyError(f"private key could not be loaded ({type(exc).__name__})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidKeyError(f"private key is {_key_kind(key)}, but Open Payments needs Ed25519")
    return key


def generate_private_key() -> Ed25519PrivateKey:
    """Create a new random Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """Serialise ``key`` as an unencrypted PKCS#8 PEM block (what the Node SDK reads)."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def public_jwk(key: Ed25519PrivateKey | Ed25519PublicKey, key_id: str) -> dict[str, str]:
    """Return the public JWK that a wallet publishes at ``<wallet>/jwks.json`` for ``key``."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    if not isinstance(public, Ed25519PublicKey):
        raise InvalidKeyError("public_jwk needs an Ed25519 key")
    if not key_id:
        raise InvalidKeyError("key id must not be empty")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kid": key_id, "x": _b64url(raw), "alg": "EdDSA", "kty": "OKP", "crv": "Ed25519"}


def jwks(*jwk: Mapping[str, str]) -> dict[str, list[dict[str, str]]]:
    """Wrap JWKs in the ``{"keys": [...]}`` document served at ``/jwks.json``."""
    return {"keys": [dict(item) for item in jwk]}


def public_key_from_jwk(jwk: Mapping[str, object]) -> Ed25519PublicKey:
    """Build the Ed25519 public key described by ``jwk``; refuse anything but OKP/Ed25519."""
    kty, crv, x = jwk.get("kty"), jwk.get("crv"), jwk.get("x")
    if kty != "OKP" or crv != "Ed25519":
        raise InvalidKeyError(f"JWK must be kty OKP with crv Ed25519, got kty={kty!r} crv={crv!r}")
    alg = jwk.get("alg")
    if alg is not None and alg != "EdDSA":
        raise InvalidKeyError(f"JWK alg must be EdDSA, got {alg!r}")
    if not isinstance(x, str):
        raise InvalidKeyError("JWK has no 'x' member")
    try:
        raw = _b64url_decode(x)
    except (binascii.Error, ValueError):
        raise InvalidKeyError("JWK 'x' is not base64url") from None
    if len(raw) != 32:
        raise InvalidKeyError(f"JWK 'x' must decode to 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)
