"""Every URL the wallet advertises, and the reverse: which local thing a URL names.

Layout (one origin, Rafiki-like paths): wallets ``<base>/<name>``; auth server ``<base>/auth`` with the
grant endpoint ``<base>/auth/<tenant>`` (the ``authServer`` every wallet advertises, a path segment that
clients must not mangle); resource server ``<base>/op/<tenant>``.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

WALLET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,99}\Z")
RESERVED_NAMES = frozenset({"auth", "op", "favicon.ico", "robots.txt"})


def valid_wallet_name(name: str) -> bool:
    """Whether ``name`` can be a wallet path segment (not reserved, not starting with ``_``)."""
    return bool(WALLET_NAME.match(name)) and name not in RESERVED_NAMES


class Urls:
    """URL builder and parser for one wallet instance at ``base`` (no trailing slash)."""

    def __init__(self, base: str, tenant: str) -> None:
        self.base = base.rstrip("/")
        self.tenant = tenant
        self.auth_base = f"{self.base}/auth"
        self.auth_server = f"{self.auth_base}/{tenant}"
        self.resource_server = f"{self.base}/op/{tenant}"
        self._ip_prefix = f"{self.resource_server}/incoming-payments/"
        self._quote_prefix = f"{self.resource_server}/quotes/"

    def wallet(self, name: str) -> str:
        return f"{self.base}/{name}"

    def wallet_name(self, url: object) -> str | None:
        """The local wallet name ``url`` points at (its form only; the wallet may not exist)."""
        if not isinstance(url, str) or not url.startswith(self.base + "/"):
            return None
        name = url[len(self.base) + 1 :]
        return name if valid_wallet_name(name) else None

    def continue_uri(self, continue_id: str) -> str:
        return f"{self.auth_base}/continue/{continue_id}"

    def manage_uri(self, manage_id: str) -> str:
        return f"{self.auth_base}/token/{manage_id}"

    def interact_redirect(self, interact_id: str, nonce: str, client_name: str, client_uri: str) -> str:
        # URLSearchParams encoding, as Rafiki: spaces become '+'.
        query = urlencode({"clientName": client_name, "clientUri": client_uri})
        return f"{self.auth_base}/interact/{interact_id}/{nonce}?{query}"

    def incoming_payment(self, payment_id: str) -> str:
        return self._ip_prefix + payment_id

    def quote(self, quote_id: str) -> str:
        return self._quote_prefix + quote_id

    def outgoing_payment(self, payment_id: str) -> str:
        return f"{self.resource_server}/outgoing-payments/{payment_id}"

    def incoming_payment_id(self, url: object) -> str | None:
        """The id of the local incoming payment ``url`` names, or None."""
        if isinstance(url, str) and url.startswith(self._ip_prefix):
            return url[len(self._ip_prefix) :] or None
        return None

    def quote_id(self, url: object) -> str | None:
        """The id of the local quote ``url`` names, or None."""
        if isinstance(url, str) and url.startswith(self._quote_prefix):
            return url[len(self._quote_prefix) :] or None
        return None
