"""The Open Payments client: one object, configured once, with resource groups (STYLE rule 9)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .exceptions import (
    InvalidKeyError,
    ResponseValidationError,
    TransportError,
    error_from_response,
    redact_url,
)
from .models import AccessToken
from .resources import (
    Grants,
    IncomingPayments,
    OutgoingPaymentGrant,
    OutgoingPayments,
    Quotes,
    Tokens,
    WalletAddresses,
)
from .safe_http import (
    HostList,
    Resolver,
    URLPolicy,
    check_ca_bundle,
    deadline,
    parse_url,
    read_limited,
    system_resolver,
    transport_error,
)
from .signing import SignatureAuth, json_body
from .transport import build_http_client
from .urls import wallet_address_url

__all__ = ["ClientConfig", "HTTPRequester", "OpenPaymentsClient"]

_log = logging.getLogger("payments")


@dataclass(frozen=True)
class ClientConfig:
    """Everything the client needs: our wallet address and key, timeouts, and the SSRF policy.

    Without ``http_client`` the client builds a guarded one that re-checks addresses at connect time;
    a supplied ``http_client`` (e.g. an in-process transport in tests) gets the pre-request checks only.

    ``allowed_http_hosts`` may be fetched over plain http, ``private_hosts`` may resolve to private or
    loopback addresses (``allow_private_hosts``: any host may); each entry is ``host`` or ``host:port``
    (IPv6 as ``[::1]`` or ``[::1]:8443``), and neither list implies the other. ``ca_bundle`` is a PEM file
    or a directory of hashed certificates whose CAs the guarded client trusts too, beside certifi's bundle,
    the system store and ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``. A malformed host entry or an unusable
    ``ca_bundle`` raises ValueError naming it when the config is made.
    """

    wallet_address_url: str
    key_id: str
    private_key: Ed25519PrivateKey = field(repr=False)
    timeout: float = 10.0
    connect_timeout: float = 5.0
    # The whole of one call (connect, TLS, request, headers and body), whatever each read takes.
    deadline: float = 30.0
    allowed_http_hosts: frozenset[str] = frozenset()
    allow_private_hosts: bool = False
    private_hosts: frozenset[str] = frozenset()
    max_response_bytes: int = 1_000_000
    wallet_address_ttl: float = 300.0
    ca_bundle: str | None = None
    http_client: httpx.Client | None = field(default=None, repr=False, compare=False)
    resolver: Resolver = field(default=system_resolver, repr=False, compare=False)
    # Called after every call with its method, URL, HTTP status (None: no answer) and seconds taken; for
    # metrics. It must not raise.
    on_call: Callable[[str, str, int | None, float], None] | None = field(
        default=None, repr=False, compare=False
    )
    # Called before every call goes out: the caller lets go of what it should not hold while a wallet
    # answers (a pooled database connection). It must not raise.
    before_call: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, Ed25519PrivateKey):
            raise InvalidKeyError("ClientConfig.private_key must be an Ed25519 private key")
        if self.timeout <= 0 or self.connect_timeout <= 0 or self.deadline <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_response_bytes <= 0:
            raise ValueError("max_response_bytes must be positive")
        HostList(self.allowed_http_hosts, name="allowed_http_hosts")
        HostList(self.private_hosts, name="private_hosts")
        if self.ca_bundle is not None:
            check_ca_bundle(self.ca_bundle)


class HTTPRequester:
    """Sends one Open Payments request: SSRF check, signing, timeout, size cap, error mapping."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.policy = URLPolicy(
            allowed_http_hosts=frozenset(config.allowed_http_hosts),
            allow_private_hosts=config.allow_private_hosts,
            private_hosts=frozenset(config.private_hosts),
            resolver=config.resolver,
        )
        self.timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)
        self.owns_http = config.http_client is None
        self.http = config.http_client or build_http_client(
            self.policy, timeout=self.timeout, ca_bundle=config.ca_bundle
        )
        self._auth = SignatureAuth(config.private_key, config.key_id)

    def request(
        self,
        method: str,
        url: str,
        *,
        token: AccessToken | str | None = None,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
        wait: int | None = None,
    ) -> Any:
        """Send a request and return its parsed JSON (None when empty); raise a mapped error otherwise.

        Signed when it is a POST or carries ``token``; ``wait`` feeds :class:`TooFast`. The whole call ends
        within the config's ``deadline`` (or an earlier one set with :func:`payments.deadline`). No response
        at all is a :class:`TransportError` naming the cause and the request (a :class:`TLSError` or
        :class:`HostNotFound` when retrying cannot help).
        """
        try:
            parsed = parse_url(url)
            self.policy.check_url(parsed)
        except TransportError as exc:
            raise exc.for_request(method, url) from None
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = "GNAP " + (token.value if isinstance(token, AccessToken) else token)
        content = json_body(body) if body is not None else None
        request = self.http.build_request(
            method, parsed, headers=headers, content=content, params=params, timeout=self.timeout
        )
        if self.config.before_call is not None:
            self.config.before_call()
        started, status = time.monotonic(), None
        try:
            with deadline(self.config.deadline):
                response = self.http.send(request, auth=self._auth, stream=True, follow_redirects=False)
                status = response.status_code
                raw = read_limited(response, self.config.max_response_bytes)
        except httpx.RequestError as exc:
            raise transport_error(exc, method=method, url=url) from None
        except TransportError as exc:
            # Raised by the connect-time check (a failed DNS lookup), before the request was known.
            raise exc.for_request(method, url) from None
        finally:
            if self.config.on_call is not None:
                self.config.on_call(method, url, status, time.monotonic() - started)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s %s -> %s", method, redact_url(url), response.status_code)
        if response.status_code >= 400:
            raise error_from_response(
                status=response.status_code, content=raw, method=method, url=url, wait=wait
            )
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ResponseValidationError(
                f"{method} {redact_url(url)} returned a body that is not JSON"
            ) from None

    def close(self) -> None:
        """Close the HTTP client if this requester created it."""
        if self.owns_http:
            self.http.close()


class OpenPaymentsClient:
    """Talks to wallets, auth servers and resource servers on behalf of our client wallet address.

    Groups: ``wallet_addresses``, ``grants``, ``tokens``, ``incoming_payments``, ``quotes``,
    ``outgoing_payments``, ``outgoing_payment_grant``. Close it (or use ``with``) when done.
    """

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.client_wallet_address = wallet_address_url(config.wallet_address_url)
        self._requester = HTTPRequester(config)
        self.wallet_addresses = WalletAddresses(self._requester, ttl=config.wallet_address_ttl)
        self.grants = Grants(self._requester, client=self.client_wallet_address)
        self.tokens = Tokens(self._requester)
        self.incoming_payments = IncomingPayments(self._requester)
        self.quotes = Quotes(self._requester)
        self.outgoing_payments = OutgoingPayments(self._requester)
        self.outgoing_payment_grant = OutgoingPaymentGrant(self._requester)

    def __repr__(self) -> str:
        return f"OpenPaymentsClient(client={self.client_wallet_address!r}, key_id={self.config.key_id!r})"

    def close(self) -> None:
        """Release connections (only those of an ``httpx.Client`` this object created)."""
        self._requester.close()

    def __enter__(self) -> OpenPaymentsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
