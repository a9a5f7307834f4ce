"""Safe outbound HTTP for URLs that users (or their wallets) supply: the SSRF guard.

https only (plain http for listed hosts); every address a host resolves to must be public unless private
hosts are allowed, checked before the request and again when the socket connects (against DNS rebinding);
cloud metadata addresses are always refused; redirects are never followed; bodies are read up to a cap.
Inside `deadline(seconds)` every connect, TLS handshake, write and read of the guarded transport gets only
the time left, so a whole call (connect, headers and body together) ends in time even against a server
that trickles its answer a byte at a time.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from .exceptions import RedirectRefused, ResponseTooLarge, TransportError, UnsafeURLError, redact_url

__all__ = [
    "GuardedTransport",
    "URLPolicy",
    "build_http_client",
    "deadline",
    "read_limited",
    "system_resolver",
]

Resolver = Callable[[str, int], list[str]]

# Instance metadata services (AWS/GCP/Azure/OpenStack, AWS IPv6 and ECS, Alibaba); refused even when
# private hosts are allowed, since no wallet ever lives there.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)

# IPv6 forms that carry an IPv4 address. The address inside is checked like a plain one, so a private,
# loopback or metadata IPv4 behind any of them is refused with the same words. Python's own view of these
# prefixes changes between patch releases, so the policy names them itself.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
# With a public IPv4 inside, the IPv6 address is still refused (unless private hosts are allowed) for every
# form but IPv4-mapped (which is the IPv4 address itself to the socket) and the well-known NAT64 prefix
# (which IPv6-only networks' DNS64 hands out for every IPv4-only host, and whose translator reaches only the
# checked IPv4 address). The rest are obsolete or host-side tunnels that no wallet server is published at:
# IPv4-compatible (deprecated), IPv4-translated (SIIT), 6to4 (deprecated), Teredo (a client's NAT
# traversal, whose relays and server we do not control), and NAT64 local-use (a network-specific prefix).
_TUNNELS = (
    (_IPV4_COMPATIBLE, "an IPv4-compatible"),
    (_IPV4_TRANSLATED, "an IPv4-translated"),
    (_SIX_TO_FOUR, "a 6to4"),
    (_TEREDO, "a Teredo"),
    (_NAT64_LOCAL, "a non-public"),
)


def _is_ipv4_compatible(address: ipaddress.IPv6Address) -> bool:
    # :: and ::1 are the unspecified and loopback addresses, not IPv4-compatible ones.
    return address in _IPV4_COMPATIBLE and int(address) > 1


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address other than IPv4-mapped carries (Teredo: server and client)."""
    # Under the local-use NAT64 prefix the IPv4 address is the last 32 bits only with a /96; with a shorter
    # network-specific prefix it sits elsewhere, but that prefix is refused itself (_TUNNELS).
    in_last_32_bits = (_IPV4_TRANSLATED, _NAT64, _NAT64_LOCAL)
    if _is_ipv4_compatible(address) or any(address in network for network in in_last_32_bits):
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    return []


def _tunnel(address: ipaddress.IPv6Address) -> str | None:
    """What kind of refused transition address this is, or None."""
    for network, kind in _TUNNELS:
        if address in network and (network is not _IPV4_COMPATIBLE or _is_ipv4_compatible(address)):
            return kind
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver to its IP address strings.

    A failed lookup is a :class:`TransportError` (DNS failures are often transient), not a refusal.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TransportError(f"cannot resolve host {host!r}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class URLPolicy:
    """Which URLs may be fetched: schemes, plain-http hosts, private addresses, and how to resolve."""

    allowed_http_hosts: frozenset[str] = frozenset()
    allow_private_hosts: bool = False
    # Hosts that may resolve to private or loopback addresses (a local wallet), when not all may.
    private_hosts: frozenset[str] = frozenset()
    resolver: Resolver = field(default=system_resolver, repr=False)

    def check_url(self, url: str | httpx.URL) -> None:
        """Raise :class:`UnsafeURLError` unless ``url`` may be fetched; resolves the host, never connects."""
        parsed = url if isinstance(url, httpx.URL) else _parse(url)
        shown = redact_url(str(parsed))
        host = parsed.host
        if not host:
            raise UnsafeURLError(f"refused {shown}: no host")
        if parsed.scheme == "http":
            if host not in self.allowed_http_hosts:
                raise UnsafeURLError(f"refused {shown}: plain http is only allowed for configured hosts")
        elif parsed.scheme != "https":
            raise UnsafeURLError(f"refused {shown}: scheme must be https")
        if parsed.userinfo:
            raise UnsafeURLError(f"refused {shown}: credentials in URLs are not allowed")
        self.safe_addresses(host, parsed.port or (443 if parsed.scheme == "https" else 80))

    def safe_addresses(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` and return its addresses if every one is allowed, else raise UnsafeURLError."""
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolver(host, port)]
        if not addresses:
            raise UnsafeURLError(f"refused host {host!r}: it resolves to no address")
        exempt = self.allow_private_hosts or host in self.private_hosts
        for address in addresses:
            problem = self._problem(address, exempt)
            if problem:
                raise UnsafeURLError(f"refused host {host!r}: it resolves to {problem} address {address}")
        return [str(address) for address in addresses]

    def _problem(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address, exempt: bool) -> str | None:
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return self._problem(address.ipv4_mapped, exempt)
            for inner in _embedded_ipv4(address):
                problem = self._problem(inner, exempt)
                if problem:
                    return problem
        if address in METADATA_ADDRESSES:
            return "a cloud metadata"
        if exempt:
            return None
        if isinstance(address, ipaddress.IPv6Address) and (tunnel := _tunnel(address)):
            return tunnel
        if address.is_global or address in _NAT64:
            return None
        if address.is_loopback:
            return "a loopback"
        if address.is_link_local:
            return "a link-local"
        if address.is_private:
            return "a private"
        return "a non-public"


def _parse(url: str) -> httpx.URL:
    try:
        return httpx.URL(url)
    except httpx.InvalidURL:
        raise UnsafeURLError(f"refused {redact_url(url)}: not a valid URL") from None


# The moment (time.monotonic) by which the calls of the current context must be done, if any.
_DEADLINE: ContextVar[float | None] = ContextVar("payments_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every call through the guarded transport inside the block ends within `seconds` from now, or fails
    with a timeout; an enclosing, earlier deadline still holds."""
    at = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(at if outer is None else min(outer, at))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _within(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout` cut to the time the current deadline leaves; raises `error` when none is left."""
    at = _DEADLINE.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the call's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation gets at most the time the current deadline leaves."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _within(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _within(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _within(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the policy allows, re-resolving at connect time."""

    def __init__(self, policy: URLPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = self._policy.safe_addresses(host, port)[0]
        # TLS SNI and certificate checks still use the URL's host: httpcore takes them from the origin.
        stream = super().connect_tcp(
            address, port, _within(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose connections are checked against a :class:`URLPolicy`."""

    def __init__(self, policy: URLPolicy, *, max_connections: int = 20) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy),
        )


def build_http_client(policy: URLPolicy, *, timeout: float | httpx.Timeout) -> httpx.Client:
    """Create the shared ``httpx.Client``: guarded transport, no env proxies, no redirects, a timeout."""
    return httpx.Client(
        transport=GuardedTransport(policy),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    """Read a streamed response body, refusing redirects and stopping once it passes ``max_bytes``."""
    shown = f"{response.request.method} {redact_url(str(response.request.url))}"
    if response.is_redirect:
        response.close()
        raise RedirectRefused(f"refused to follow a {response.status_code} redirect from {shown}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise ResponseTooLarge(f"response from {shown} declares {declared} bytes, over the {max_bytes} limit")
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise ResponseTooLarge(f"response from {shown} is over the {max_bytes}-byte limit")
            chunks.append(chunk)
    finally:
        response.close()
    return b"".join(chunks)
