"""Errors raised by the Open Payments client.

Our exception hierarchy:

* OpenPaymentsError
  + TransportError                 (no HTTP response; .reason, .retryable: timeout, refused, dropped, DNS)
    - TLSError                     (not retryable: certificate untrusted, wrong host, handshake failure)
    - HostNotFound                 (not retryable: the host name does not exist)
  + HTTPError                      (status, code, description, method, url; .retryable for 5xx/429)
    - BadRequest                   (400)
      · InvalidQuote               (400 "invalid quote": expired, used or receiver done; re-quote)
      · InvalidReceiver            (400 "invalid receiver": receiver already paid; stop)
      · TooFast                    (400 too_fast; carries .wait seconds)
    - Unauthorized                 (401: signature, client or continuation problem)
    - Forbidden                    (403)
      · InactiveToken              (403 "Inactive Token": rotate, then retry once)
    - NotFound                     (404)
    - Conflict                     (409)
    - ServerError                  (5xx, retryable)
  + SignatureError                 (.reason: a stable string, see SignatureError.REASONS)
  + InvalidKeyError                (a private key or JWK that is not Ed25519 / unreadable)
  + UnsafeURLError                 (SSRF refusal: scheme, non-public address; before any connection)
    - RedirectRefused              (the server answered 3xx; redirects are never followed)
    - ResponseTooLarge             (the response passed max_response_bytes; reading stopped)
  + ResponseValidationError        (a response that does not match the expected shape)

No message, ``str`` or ``repr`` of these errors contains a token, key or signature value:
errors keep only status, code, description, method and a URL with its query removed.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "BadRequest",
    "Conflict",
    "Forbidden",
    "HTTPError",
    "HostNotFound",
    "InactiveToken",
    "InvalidKeyError",
    "InvalidQuote",
    "InvalidReceiver",
    "NotFound",
    "OpenPaymentsError",
    "RedirectRefused",
    "ResponseTooLarge",
    "ResponseValidationError",
    "ServerError",
    "SignatureError",
    "TLSError",
    "TooFast",
    "TransportError",
    "Unauthorized",
    "UnsafeURLError",
    "error_from_response",
    "redact_url",
]


def redact_url(url: str) -> str:
    """Return ``url`` without userinfo, query or fragment, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class OpenPaymentsError(Exception):
    """Base class of every error this package raises."""


class TransportError(OpenPaymentsError):
    """The request got no HTTP response; ``reason`` says why and ``retryable`` whether trying again may help.

    ``reason`` is one of ``REASONS``: ``"timeout"``, ``"refused"`` (nothing listens on the port), ``"dns"``
    (the host name could not be looked up just now), ``"connection"`` (dropped, reset or another failure),
    and for the subclasses ``"certificate"``, ``"hostname"``, ``"tls"`` (:class:`TLSError`).
    """

    REASONS = frozenset({"timeout", "refused", "dns", "certificate", "hostname", "tls", "connection"})
    DEFAULT_REASON = "connection"
    retryable = True

    def __init__(self, message: str, *, method: str = "", url: str = "", reason: str | None = None) -> None:
        reason = self.DEFAULT_REASON if reason is None else reason
        if reason not in self.REASONS:
            raise ValueError(f"{type(self).__name__} cannot have the reason {reason!r}")
        self.reason = reason
        self.detail = message
        self.method = method
        self.url = redact_url(url) if url else ""
        super().__init__(f"{message} ({method} {self.url})" if url else message)

    def for_request(self, method: str, url: str) -> TransportError:
        """The same error, naming the request it ended (for one raised before the request was known)."""
        return type(self)(self.detail, method=method, url=url, reason=self.reason)

    def __reduce__(self) -> tuple[object, ...]:
        # Keeps reason, method and URL when the error crosses a process boundary (pickled by a worker pool).
        return (_rebuild_transport_error, (type(self), self.detail, self.method, self.url, self.reason))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.args[0]!r}, reason={self.reason!r})"


def _rebuild_transport_error(
    kind: type[TransportError], message: str, method: str, url: str, reason: str
) -> TransportError:
    return kind(message, method=method, url=url, reason=reason)


class TLSError(TransportError):
    """The TLS connection could not be set up; not retryable, since the same server will fail the same way.

    ``reason``: ``"certificate"`` (the server's certificate is not trusted: unknown CA, self-signed, expired),
    ``"hostname"`` (the certificate is not valid for the host asked for) or ``"tls"`` (another handshake or
    protocol failure, e.g. TLS spoken to a plain-http port).
    """

    REASONS = frozenset({"certificate", "hostname", "tls"})
    DEFAULT_REASON = "tls"
    retryable = False


class HostNotFound(TransportError):
    """The host name does not exist (DNS answered that it has no such name); not retryable."""

    REASONS = frozenset({"dns"})
    DEFAULT_REASON = "dns"
    retryable = False


class HTTPError(OpenPaymentsError):
    """The server answered with an error status; carries what it said, never what we sent."""

    def __init__(
        self,
        *,
        status: int,
        code: str | None,
        description: str | None,
        method: str,
        url: str,
    ) -> None:
        self.status = status
        self.code = code
        self.description = description
        self.method = method.upper()
        self.url = redact_url(url)
        super().__init__(self._message())

    def _message(self) -> str:
        detail = " ".join(part for part in (self.code, self.description) if part)
        return f"{self.status} from {self.method} {self.url}" + (f": {detail}" if detail else "")

    @property
    def retryable(self) -> bool:
        """True for 5xx and 429: the same request may succeed later."""
        return self.status >= 500 or self.status == 429

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, "
            f"description={self.description!r}, method={self.method!r}, url={self.url!r})"
        )


class BadRequest(HTTPError):
    """400: the request was refused as invalid; do not retry unchanged."""


class InvalidQuote(BadRequest):
    """400 "invalid quote": the quote expired, was used, or its receiver is done; re-quote."""


class InvalidReceiver(BadRequest):
    """400 "invalid receiver": the incoming payment cannot take money (completed/expired)."""


class TooFast(BadRequest):
    """400 too_fast: a grant was continued before ``wait`` seconds passed."""

    def __init__(
        self, *, wait: int, status: int, code: str | None, description: str | None, method: str, url: str
    ) -> None:
        self.wait = wait
        super().__init__(status=status, code=code, description=description, method=method, url=url)


class Unauthorized(HTTPError):
    """401: bad signature, unknown client key, invalid continuation or denied request."""


class Forbidden(HTTPError):
    """403: the token does not allow this (insufficient grant, over the limit)."""


class InactiveToken(Forbidden):
    """403 "Inactive Token": the access token expired or was revoked; rotate it and retry once."""


class NotFound(HTTPError):
    """404: unknown resource, wallet address or continuation."""


class Conflict(HTTPError):
    """409: the resource is in the wrong state for this action."""


class ServerError(HTTPError):
    """5xx: the server failed; retryable."""


class SignatureError(OpenPaymentsError):
    """A request signature could not be verified; ``reason`` is one of ``REASONS``."""

    REASONS = frozenset(
        {
            "missing signature headers",
            "unknown key id",
            "invalid signature",
            "content digest mismatch",
            "missing content digest",
            "authorization not covered",
            "malformed signature input",
        }
    )

    def __init__(self, reason: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown signature error reason: {reason!r}")
        self.reason = reason
        super().__init__(reason)


class InvalidKeyError(OpenPaymentsError):
    """A key could not be loaded or is not an Ed25519 key."""


class UnsafeURLError(OpenPaymentsError):
    """A URL was refused before connecting (scheme, private address, redirect, size)."""


class RedirectRefused(UnsafeURLError):
    """The server answered with a redirect; Open Payments never needs one, so it is not followed."""


class ResponseTooLarge(UnsafeURLError):
    """The response body was larger than allowed; reading stopped at the cap."""


class ResponseValidationError(OpenPaymentsError):
    """A response body did not have the shape the Open Payments spec promises."""


# What is kept of an error body's code and description: they end up in messages, logs and stored errors, and
# a wallet's error body is as untrusted as the rest of what it sends.
_MAX_CODE_LENGTH = 100
_MAX_DESCRIPTION_LENGTH = 500


def _shortened(text: object, limit: int) -> str | None:
    if not isinstance(text, str):
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


_BY_STATUS: dict[int, type[HTTPError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}
_BY_DESCRIPTION: dict[tuple[int, str], type[HTTPError]] = {
    (400, "invalid quote"): InvalidQuote,
    (400, "invalid receiver"): InvalidReceiver,
    (403, "inactive token"): InactiveToken,
}


def error_from_response(
    *, status: int, content: bytes, method: str, url: str, wait: int | None = None
) -> HTTPError:
    """Map an error response (status + GNAP or RS error body) to the matching :class:`HTTPError`.

    ``wait`` is the continuation's wait, used for ``too_fast`` (the body does not repeat it).
    """
    code = description = None
    try:
        error = json.loads(content).get("error")
    except (ValueError, UnicodeDecodeError, AttributeError, RecursionError):
        # RecursionError: a body nested deeper than the parser goes.
        error = None
    if isinstance(error, dict):
        code = _shortened(error.get("code"), _MAX_CODE_LENGTH)
        description = _shortened(error.get("description"), _MAX_DESCRIPTION_LENGTH)
    if status == 400 and code == "too_fast":
        wait = 5 if wait is None else wait
        return TooFast(wait=wait, status=status, code=code, description=description, method=method, url=url)
    kind = _BY_DESCRIPTION.get((status, (description or "").strip().lower()))
    if kind is None:
        kind = ServerError if status >= 500 else _BY_STATUS.get(status, HTTPError)
    return kind(status=status, code=code, description=description, method=method, url=url)
