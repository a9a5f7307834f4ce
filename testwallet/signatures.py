"""Checking request signatures with ``payments.signing`` and answering as Rafiki's AS and RS do.

The ``@target-uri`` is rebuilt from what was received: ``<scheme>://<Host header><raw path>[?<raw query>]``
(Rafiki uses Koa's ``ctx.href``). Verification itself lives in :func:`payments.signing.verify_request`.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from payments.exceptions import SignatureError
from payments.signing import signature_key_id, verify_request

from .errors import GnapError, ResourceError


@dataclass(slots=True)
class ReceivedRequest:
    """What signature checks need from an HTTP request."""

    method: str
    url: str  # as rebuilt for @target-uri
    headers: dict[str, str]  # lower-case names
    body: bytes

    @classmethod
    def from_scope(cls, scope: MutableMapping[str, Any], body: bytes) -> ReceivedRequest:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        host = headers.get("host", "")
        url = f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")
        return cls(method=scope["method"], url=url, headers=headers, body=body)

    @property
    def signed(self) -> bool:
        return "signature" in self.headers and "signature-input" in self.headers


def verify(request: ReceivedRequest, jwks: dict[str, Any]) -> str:
    """Verify against ``jwks``; returns the key id; raises SignatureError."""
    return verify_request(
        method=request.method, url=request.url, headers=request.headers, body=request.body, jwks=jwks
    )


def key_id(request: ReceivedRequest) -> str | None:
    """The ``keyid`` in Signature-Input, or None when it is missing or malformed."""
    try:
        return signature_key_id(request.headers)
    except SignatureError:
        return None


# --- auth server ------------------------------------------------------------------------------------

# Rafiki auth (packages/auth/src/signature/middleware.ts): header/digest problems are "invalid signature
# headers", a missing keyid "invalid signature input", a wrong signature "invalid signature".
_GNAP_DESCRIPTIONS = {
    "missing signature headers": "invalid signature headers",
    "content digest mismatch": "invalid signature headers",
    "missing content digest": "invalid signature headers",
    "authorization not covered": "invalid signature headers",
    "malformed signature input": "invalid signature input",
    "invalid signature": "invalid signature",
}


def gnap_signature_error(error: SignatureError, *, unknown_key_status: int = 400) -> GnapError:
    """Map a failed check to Rafiki's AS answer.

    An unknown key id (or unreachable JWKS) is ``400 invalid_client "could not determine client"`` in
    Rafiki; where the spec has no 400 invalid_client (token and cancel routes) pass 401.
    """
    if error.reason == "unknown key id":
        return GnapError(unknown_key_status, "invalid_client", "could not determine client")
    return GnapError(401, "invalid_client", _GNAP_DESCRIPTIONS.get(error.reason, "invalid signature"))


def gnap_headers_error() -> GnapError:
    return GnapError(401, "invalid_client", "invalid signature headers")


# --- resource server --------------------------------------------------------------------------------


def rs_missing_signature(request: ReceivedRequest) -> ResourceError:
    """Rafiki's RS rejects an unsigned request in its OpenAPI validator, before any signature check."""
    missing = "signature-input" if "signature-input" not in request.headers else "signature"
    return ResourceError(
        400, f"Received error validating OpenAPI request: must have required property '{missing}'"
    )


def rs_signature_error(error: SignatureError, *, client: Any, keyid: str | None, jwks: Any) -> ResourceError:
    """Map a failed check to Rafiki's RS ``401 Signature validation error: ...`` with its details.

    ``client`` is the detail Rafiki shows for the token's client: ``{"walletAddress": url}`` or ``{"jwk"}``.
    """
    if keyid is None:
        return ResourceError(
            401, "Signature validation error: missing keyId in signature input", {"client": client}
        )
    if error.reason == "unknown key id":
        keys = jwks.get("keys", []) if isinstance(jwks, dict) else []
        return ResourceError(
            401,
            "Signature validation error: could not find key in list of client keys",
            {"client": client, "keyIdInSignature": keyid, "clientKeys": keys},
        )
    return ResourceError(
        401,
        "Signature validation error: provided signature is invalid",
        {"keyIdInSignature": keyid, "client": client},
    )


def rs_client_unavailable(*, client: Any, client_url: str | None, keyid: str) -> ResourceError:
    return ResourceError(
        401,
        "Signature validation error: could not retrieve client keys",
        {"client": client, "keyIdInSignature": keyid, "requestedRoute": f"{client_url}/jwks.json"},
    )
