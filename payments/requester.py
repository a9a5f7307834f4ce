"""What the resource groups need from the client: something that sends one Open Payments request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .models import AccessToken

__all__ = ["Requester"]


class Requester(Protocol):
    """Sends one request and returns its parsed JSON (None when empty), raising a mapped error otherwise."""

    def request(
        self,
        method: str,
        url: str,
        *,
        token: AccessToken | str | None = None,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
        wait: int | None = None,
    ) -> Any: ...
