"""The GNAP interaction finish ``hash`` (docs/protocol-notes.md §4)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from urllib.parse import urlsplit, urlunsplit

__all__ = ["finish_hash", "finish_hash_candidates", "verify_finish_hash"]


def _digest(client_nonce: str, interact_nonce: str, interact_ref: str, grant_url: str) -> bytes:
    base = f"{client_nonce}\n{interact_nonce}\n{interact_ref}\n{grant_url}"
    return hashlib.sha256(base.encode("utf-8")).digest()


def finish_hash(*, client_nonce: str, interact_nonce: str, interact_ref: str, grant_url: str) -> str:
    """Return the hash current Rafiki sends: standard padded base64 of SHA-256 over the four lines."""
    return base64.b64encode(_digest(client_nonce, interact_nonce, interact_ref, grant_url)).decode("ascii")


def finish_hash_candidates(auth_server: str) -> list[str]:
    """List the grant-endpoint strings that deployed auth servers put in the hash, most likely first."""
    candidates = [auth_server]
    candidates.append(auth_server[:-1] if auth_server.endswith("/") else auth_server + "/")
    parts = urlsplit(auth_server)
    origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    candidates.append(origin + "/")
    path = parts.path.rstrip("/")
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    candidates.append(urlunsplit((parts.scheme, parts.netloc, parent, "", "")) + "/")
    return list(dict.fromkeys(candidates))


def _decode(received: str) -> bytes | None:
    # A "+" that a careless query parser turned into a space is mapped back; "-_" are URL-safe base64.
    text = received.strip().replace(" ", "+").replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def verify_finish_hash(
    *, received: str, client_nonce: str, interact_nonce: str, interact_ref: str, auth_server: str
) -> bool:
    """True if ``received`` (standard or URL-safe base64) matches the hash for any candidate grant URL.

    Compares the 32 raw bytes in constant time; check this before continuing the grant.
    """
    raw = _decode(received)
    if raw is None:
        return False
    matched = False
    for url in finish_hash_candidates(auth_server):
        # No early exit: every candidate is compared, so timing does not reveal which one matched.
        matched |= hmac.compare_digest(raw, _digest(client_nonce, interact_nonce, interact_ref, url))
    return matched
