"""A thin, raw Open Payments client for the wallet's own tests: exact requests, raw responses.

It signs with :class:`payments.signing.SignatureAuth` (what production uses) and validates every
response against the OpenAPI specs through an httpx response hook, so no test can pass on a response
the official SDK would reject.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from payments.signing import SignatureAuth, json_body, sign_headers

from .openapi_check import SpecValidator


def amount(value: int, asset_code: str = "USD", asset_scale: int = 2) -> dict[str, Any]:
    return {"value": str(value), "assetCode": asset_code, "assetScale": asset_scale}


@dataclass
class Consent:
    """What the finish redirect carried."""

    location: str
    query: dict[str, str]

    @property
    def interact_ref(self) -> str:
        return self.query["interact_ref"]


class OPClient:
    """Signed requests as a GNAP client (``client_url`` with key ``key_id``)."""

    def __init__(
        self, *, client_url: str, key_id: str, private_key: Ed25519PrivateKey, validator: SpecValidator
    ) -> None:
        self.client_url = client_url
        self.key_id = key_id
        self.private_key = private_key
        self.validator = validator
        self.http = httpx.Client(
            auth=SignatureAuth(private_key, key_id),
            timeout=10.0,
            event_hooks={"response": [self._check]},
        )
        self.plain = httpx.Client(timeout=10.0, event_hooks={"response": [self._check]})

    def _check(self, response: httpx.Response) -> None:
        response.read()
        self.validator.validate(response)

    def close(self) -> None:
        self.http.close()
        self.plain.close()

    def hand_signed(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        token: str | None = None,
        private_key: Ed25519PrivateKey | None = None,
        key_id: str | None = None,
        sent_body: bytes | None = None,
        drop: tuple[str, ...] = (),
    ) -> httpx.Response:
        """Sign ``body`` with ``private_key``/``key_id`` (default: ours), then send ``sent_body`` if given
        (a digest mismatch) and without the headers named in ``drop`` (e.g. an unsigned request)."""
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"GNAP {token}"
        content = json_body(body) if body is not None else None
        headers.update(
            sign_headers(
                method=method,
                url=url,
                headers=headers,
                body=content,
                private_key=private_key or self.private_key,
                key_id=key_id or self.key_id,
            )
        )
        for name in drop:
            headers.pop(name, None)
        return self.plain.request(
            method, url, content=sent_body if sent_body is not None else content, headers=headers
        )

    # --- plain HTTP ---------------------------------------------------------------------------------

    def post(
        self, url: str, body: Any = None, *, token: str | None = None, raw: bytes | None = None
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"GNAP {token}"
        content = raw if raw is not None else (json_body(body) if body is not None else None)
        if content is not None:
            headers["Content-Type"] = "application/json"
        return self.http.post(url, content=content, headers=headers)

    def get(
        self, url: str, *, token: str | None = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"GNAP {token}"
        return self.http.get(url, headers=headers, params=params)

    def delete(self, url: str, *, token: str) -> httpx.Response:
        return self.http.delete(url, headers={"Accept": "application/json", "Authorization": f"GNAP {token}"})

    # --- Open Payments steps ------------------------------------------------------------------------

    def wallet(self, url: str) -> dict[str, Any]:
        response = self.get(url)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def grant(self, wallet: dict[str, Any], access: list[dict[str, Any]], **extra: Any) -> httpx.Response:
        body: dict[str, Any] = {"access_token": {"access": access}, "client": self.client_url, **extra}
        return self.post(wallet["authServer"], body)

    def incoming_grant(
        self, wallet: dict[str, Any], actions: tuple[str, ...] = ("read", "complete", "create")
    ) -> str:
        response = self.grant(wallet, [{"type": "incoming-payment", "actions": list(actions)}])
        assert response.status_code == 200, response.text
        return response.json()["access_token"]["value"]  # type: ignore[no-any-return]

    def quote_grant(self, wallet: dict[str, Any]) -> str:
        response = self.grant(wallet, [{"type": "quote", "actions": ["create", "read"]}])
        assert response.status_code == 200, response.text
        return response.json()["access_token"]["value"]  # type: ignore[no-any-return]

    def outgoing_grant(
        self,
        wallet: dict[str, Any],
        *,
        limits: dict[str, Any] | None = None,
        actions: tuple[str, ...] = ("read", "create"),
        finish_uri: str | None = "http://127.0.0.1:9/callback?job=42",
        nonce: str | None = None,
    ) -> tuple[httpx.Response, str]:
        """Request an interactive outgoing-payment grant; returns the response and our finish nonce."""
        item: dict[str, Any] = {
            "type": "outgoing-payment",
            "actions": list(actions),
            "identifier": wallet["id"],
        }
        if limits is not None:
            item["limits"] = limits
        nonce = nonce or secrets.token_urlsafe(16)
        interact: dict[str, Any] = {"start": ["redirect"]}
        if finish_uri is not None:
            interact["finish"] = {"method": "redirect", "uri": finish_uri, "nonce": nonce}
        return self.grant(wallet, [item], interact=interact), nonce

    def consent(self, redirect: str, *, accept: bool = True) -> Consent:
        """Play the user: open the consent page, press Accept or Decline, follow to the finish redirect."""
        parts = urlsplit(redirect)
        with httpx.Client(base_url=f"{parts.scheme}://{parts.netloc}", timeout=10.0) as browser:
            page = browser.get(redirect)
            assert page.status_code == 200, page.text
            chosen = browser.post(f"{parts.path}/{'accept' if accept else 'reject'}")
            assert chosen.status_code == 303, chosen.text
            finish = browser.get(chosen.headers["location"])
            assert finish.status_code == 302, finish.text
            location = finish.headers["location"]
            return Consent(location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()})

    def continue_(self, pending: dict[str, Any], interact_ref: str | None) -> httpx.Response:
        body = {"interact_ref": interact_ref} if interact_ref is not None else None
        return self.post(pending["continue"]["uri"], body, token=pending["continue"]["access_token"]["value"])
