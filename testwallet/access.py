"""Token introspection for the resource server (Rafiki's ``createTokenIntrospectionMiddleware``).

The AS and RS share this process, so the RS reads the grant directly instead of calling an
introspection endpoint; the answers are the same: missing/non-GNAP header 401, inactive (unknown,
expired, revoked, grant revoked) 403 ``Inactive Token``, no matching access item 403 ``Insufficient Grant``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ResourceError
from .models import AccessToken, Grant
from .state import Store

_WIDER = {"read": "read-all", "list": "list-all"}


@dataclass(slots=True)
class Authorization:
    """What a valid token allows for this request."""

    token: AccessToken
    grant: Grant
    item: dict[str, Any]
    action: str  # the effective action: "read-all" / "list-all" when the grant has them

    @property
    def sees_all(self) -> bool:
        return self.action in ("read-all", "list-all")

    def can_see(self, owner_client_id: str | None) -> bool:
        """``read``/``list`` only see resources created by the same client; ``*-all`` see everything."""
        return self.sees_all or owner_client_id == self.grant.client_id


def bearer(header: str | None) -> str:
    """The token in ``Authorization: GNAP <token>``; Rafiki splits on one space and wants ``GNAP``."""
    parts = header.split(" ") if header is not None else []
    if len(parts) != 2 or parts[0] != "GNAP" or not parts[1]:
        raise ResourceError(401, "Missing or invalid authorization header value", authenticate=True)
    return parts[1]


def active_token(store: Store, value: str) -> tuple[AccessToken, Grant]:
    token = store.tokens.get(value)
    grant = store.grants.get(token.grant_id) if token is not None else None
    if (
        token is None
        or grant is None
        or token.revoked
        or grant.revoked
        or store.now() >= token.created_at + token.expires_in * 1000
    ):
        raise ResourceError(403, "Inactive Token", authenticate=True)
    return token, grant


def authorize(
    store: Store, header: str | None, *, type_: str, action: str, identifier: str | None
) -> Authorization:
    """Check the token for ``type_``/``action`` on the wallet ``identifier`` (None: not checked)."""
    token, grant = active_token(store, bearer(header))
    wider = _WIDER.get(action)
    for item in grant.access:
        if item["type"] != type_:
            continue
        owned = item.get("identifier")
        if identifier is not None and owned is not None and owned != identifier:
            continue
        actions = item["actions"]
        if wider is not None and wider in actions:
            return Authorization(token, grant, item, wider)
        if action in actions:
            return Authorization(token, grant, item, action)
    raise ResourceError(403, "Insufficient Grant", authenticate=True)
