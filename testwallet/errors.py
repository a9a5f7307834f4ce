"""The two error shapes of Open Payments: GNAP errors at the auth server, HTTP-status errors at the RS."""

from __future__ import annotations

from typing import Any


class GnapError(Exception):
    """An auth-server error: ``{"error": {"code": <gnap code>, "description": ...}}``."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status = status
        self.code = code
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "description": self.description}}


class ResourceError(Exception):
    """A resource-server error: ``{"error": {"code": "<status>", "description", "details"?}}``.

    ``authenticate`` adds ``WWW-Authenticate: GNAP as_uri=...`` as Rafiki does on token-check errors.
    """

    def __init__(
        self,
        status: int,
        description: str,
        details: dict[str, Any] | None = None,
        *,
        authenticate: bool = False,
    ) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description
        self.details = details
        self.authenticate = authenticate

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": str(self.status), "description": self.description}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


def openapi_error(message: str) -> ResourceError:
    """The 400 Rafiki's OpenAPI request validator answers with."""
    return ResourceError(400, f"Received error validating OpenAPI request: {message}")
