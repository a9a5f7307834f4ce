"""Finding a GNAP client's keys and display name, as the auth and resource servers need them.

Rafiki fetches ``<client>/jwks.json`` live on every signed request. We do the same for foreign clients
(any wallet URL not hosted here), through a cache of ``Settings.jwks_cache_seconds`` (1 s by default) so a
benchmark does not measure our own HTTP client. Wallets hosted by this server are read from memory, so
a key added through the admin API counts at once.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from .state import Store, jwks_document


class ClientUnavailable(Exception):
    """The client's wallet address or JWKS could not be fetched or was not valid JSON."""


class ClientDirectory:
    """Resolves ``client`` values (wallet URL string, ``{"walletAddress"}`` or ``{"jwk"}``)."""

    def __init__(self, store: Store, http: httpx.AsyncClient | None = None) -> None:
        self.store = store
        self.http = http
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    @staticmethod
    def wallet_url(client: object) -> str | None:
        """The client's wallet address URL, or None for a directed-identity (JWK) client."""
        if isinstance(client, str):
            return client
        if isinstance(client, dict) and isinstance(client.get("walletAddress"), str):
            return str(client["walletAddress"])
        return None

    @staticmethod
    def identity(client: object) -> str:
        """A stable id for scoping resources to a client (``read`` vs ``read-all``)."""
        url = ClientDirectory.wallet_url(client)
        if url is not None:
            return url
        jwk = client.get("jwk", {}) if isinstance(client, dict) else {}
        return f"jwk:{jwk.get('x', '')}"

    async def jwks(self, client: object) -> dict[str, Any]:
        """The JWKS to verify the client's signatures with; ClientUnavailable when it cannot be had."""
        if isinstance(client, dict) and isinstance(client.get("jwk"), dict):
            return {"keys": [client["jwk"]]}
        url = self.wallet_url(client)
        if url is None:
            raise ClientUnavailable("no client")
        local = self.store.wallet_by_url(url)
        if local is not None:
            return jwks_document(local.keys)
        document = await self._fetch(url.rstrip("/") + "/jwks.json")
        if document is None or not isinstance(document.get("keys"), list):
            raise ClientUnavailable(f"no JWKS at {url}/jwks.json")
        return document

    async def wallet_document(self, client: object) -> dict[str, Any] | None:
        """The client's wallet address JSON (for ``publicName``), or None when it cannot be fetched."""
        url = self.wallet_url(client)
        if url is None:
            return None
        local = self.store.wallet_by_url(url)
        if local is not None:
            return {"id": url, "publicName": local.public_name}
        try:
            return await self._fetch(url)
        except ClientUnavailable:
            return None

    async def _fetch(self, url: str) -> dict[str, Any] | None:
        ttl = self.store.settings.jwks_cache_seconds
        cached = self._cache.get(url) if ttl > 0 else None
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        if self.http is None:
            raise ClientUnavailable("no HTTP client to reach foreign wallets")
        try:
            response = await self.http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ClientUnavailable(f"could not reach {url}") from exc
        document: dict[str, Any] | None = None
        if response.status_code == 200:
            try:
                parsed = response.json()
            except ValueError:
                parsed = None
            document = parsed if isinstance(parsed, dict) else None
        if ttl > 0:
            self._cache[url] = (time.monotonic() + ttl, document)
        if document is None:
            raise ClientUnavailable(f"{url} answered {response.status_code}")
        return document
