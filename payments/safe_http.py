"""Safe outbound HTTP for URLs that users (or their wallets) supply: the SSRF guard.

https only (plain http for listed hosts); every address a host resolves to must be public unless private
hosts are allowed, checked before the request and again when the socket connects (against DNS rebinding);
cloud metadata addresses are always refused; redirects are never followed; bodies are read up to a cap.
Both host lists take ``host`` (any port) or ``host:port`` entries. TLS trusts certifi's bundle, the system
store, ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` and an optional CA bundle of our own (:func:`ssl_context`).
Inside `deadline(seconds)` every connect, TLS handshake, write and read of the guarded transport
(`payments.transport`) gets only the time left, so a whole call (connect, headers and body together) ends in
time even against a server that trickles its answer a byte at a time.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field

import certifi
import httpx

from .exceptions import (
    HostNotFound,
    RedirectRefused,
    ResponseTooLarge,
    TLSError,
    TransportError,
    UnsafeURLError,
    redact_url,
)

__all__ = [
    "HostList",
    "URLPolicy",
    "check_ca_bundle",
    "deadline",
    "read_limited",
    "ssl_context",
    "system_resolver",
    "transport_error",
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


# getaddrinfo's answers meaning the name does not exist (EAI_NODATA: it exists without addresses), as
# opposed to a lookup that failed this time (EAI_AGAIN and the rest).
_NO_SUCH_NAME = frozenset(
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
)


def _dns_error(host: str, exc: socket.gaierror) -> TransportError:
    if exc.errno in _NO_SUCH_NAME:
        return HostNotFound(f"host not found: {host!r}")
    return TransportError(f"host lookup failed for {host!r}: {exc.strerror or exc}", reason="dns")


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver to its IP address strings.

    A name that does not exist is a :class:`HostNotFound`; any other failed lookup (often transient) a
    retryable :class:`TransportError` with reason ``"dns"``. Neither is a refusal.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _dns_error(host, exc) from None
    except UnicodeError:
        raise HostNotFound(f"host not found: {host!r} (not a valid host name)") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_.])?")
_BRACKETED = re.compile(r"\[([^\]]+)\](?::([0-9]+))?")


def _normal_host(host: str) -> str:
    """``host`` as the lists compare it: lower case, IP literals in one spelling, names in ASCII."""
    host = host.strip("[]").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


class HostList:
    """A set of ``host`` (any port) and ``host:port`` entries, IPv6 literals as ``[::1]`` or ``[::1]:8443``
    (a bare ``::1`` means any port); host names match case-insensitively."""

    def __init__(self, entries: Iterable[str], *, name: str = "host list") -> None:
        """Parse ``entries``; a malformed one raises ValueError naming ``name`` and the entry."""
        parsed: set[tuple[str, int | None]] = set()
        for entry in entries:
            host_port = self._parse(entry)
            if host_port is None:
                raise ValueError(f"{name} entry {entry!r} is not a host or host:port")
            parsed.add(host_port)
        self._entries = frozenset(parsed)

    @staticmethod
    def _parse(entry: str) -> tuple[str, int | None] | None:
        text = entry.strip().lower()
        port: str | None
        if bracketed := _BRACKETED.fullmatch(text):
            host, port = bracketed.group(1), bracketed.group(2)
            if ":" not in host:
                return None
        elif text.count(":") == 1:
            host, port = text.split(":")
        else:
            host, port = text, None
        if port is not None and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            return None
        if ":" in host:
            try:
                host = str(ipaddress.IPv6Address(host))
            except ValueError:
                return None
        else:
            host = _normal_host(host)
            if not _HOST_NAME.fullmatch(host):
                return None
        return host, None if port is None else int(port)

    def matches(self, host: str, port: int) -> bool:
        """Whether ``host`` is listed for ``port`` or for any port."""
        host = _normal_host(host)
        return (host, None) in self._entries or (host, port) in self._entries


@dataclass(frozen=True)
class URLPolicy:
    """Which URLs may be fetched: schemes, plain-http hosts, private addresses, and how to resolve.

    ``allowed_http_hosts`` may be fetched over plain http; ``private_hosts`` may resolve to private, loopback
    or link-local addresses (a local wallet). Each entry is ``host`` (any port) or ``host:port`` (that port
    only; the URL's port or the scheme's default is compared), IPv6 as ``[::1]`` or ``[::1]:8443``. The two
    lists are independent: one does not imply the other. A malformed entry raises ValueError.
    """

    allowed_http_hosts: frozenset[str] = frozenset()
    allow_private_hosts: bool = False
    private_hosts: frozenset[str] = frozenset()
    resolver: Resolver = field(default=system_resolver, repr=False)
    _http: HostList = field(init=False, repr=False, compare=False)
    _private: HostList = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_http", HostList(self.allowed_http_hosts, name="allowed_http_hosts"))
        object.__setattr__(self, "_private", HostList(self.private_hosts, name="private_hosts"))

    def check_url(self, url: str | httpx.URL) -> None:
        """Raise :class:`UnsafeURLError` unless ``url`` may be fetched; resolves the host, never connects."""
        parsed = url if isinstance(url, httpx.URL) else parse_url(url)

        def refused(why: str) -> UnsafeURLError:
            return UnsafeURLError(f"refused {redact_url(str(parsed))}: {why}")

        host = parsed.host
        if not host:
            raise refused("no host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if parsed.scheme == "http":
            if not self._http.matches(host, port):
                raise refused("plain http is only allowed for configured hosts")
        elif parsed.scheme != "https":
            raise refused("scheme must be https")
        if parsed.userinfo:
            raise refused("credentials in URLs are not allowed")
        self.safe_addresses(host, port)

    def safe_addresses(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` and return its addresses if every one is allowed for ``port``, else raise
        UnsafeURLError; a failed lookup raises the resolver's :class:`TransportError`."""
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolver(host, port)]
        if not addresses:
            raise UnsafeURLError(f"refused host {host!r}: it resolves to no address")
        exempt = self.allow_private_hosts or self._private.matches(host, port)
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


@functools.lru_cache(maxsize=4096)
def parse_url(url: str) -> httpx.URL:
    """``url`` parsed, or UnsafeURLError when it is not a valid URL. Cached: a client sends most of its
    requests to the same few endpoints of each wallet, and httpx's parsing is a good part of a request's
    CPU (a parsed URL never changes)."""
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


# A directory usable as a CA path holds certificates named by subject hash, as `openssl rehash` makes them.
_HASHED_NAME = re.compile(r"[0-9a-f]{8}\.[0-9]+")


def _load_ca_bundle(context: ssl.SSLContext, path: str) -> None:
    def unusable(why: str) -> ValueError:
        return ValueError(f"CA bundle {path!r} cannot be used: {why}")

    if not os.path.exists(path):
        raise unusable("no such file")
    if os.path.isdir(path):
        try:
            names = os.listdir(path)
        except OSError as exc:
            raise unusable(exc.strerror or str(exc)) from None
        if not any(_HASHED_NAME.fullmatch(name) for name in names):
            raise unusable("the directory has no hashed certificate names (run `openssl rehash` on it)")
        context.load_verify_locations(capath=path)
        return
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError as exc:
        raise unusable(f"no PEM certificate could be read from it ({_ssl_text(exc)})") from None
    except OSError as exc:
        raise unusable(exc.strerror or str(exc)) from None


def check_ca_bundle(path: str) -> None:
    """Raise ValueError, naming ``path`` and why, unless it is a PEM file of CA certificates or a directory
    of hashed ones (as ``openssl rehash`` / ``c_rehash`` make)."""
    _load_ca_bundle(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), path)


def _same_path(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and os.path.realpath(a) == os.path.realpath(b)


def ssl_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """A client TLS context that verifies certificates and host names, trusting certifi's bundle, the system
    store, whatever ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` name, and ``ca_bundle`` when given (a PEM file or a
    directory of hashed certificates). An unusable ``ca_bundle`` raises ValueError naming it and why."""
    # Loads OpenSSL's default verify paths, which are SSL_CERT_FILE / SSL_CERT_DIR when those are set.
    context = ssl.create_default_context()
    paths = ssl.get_default_verify_paths()
    # A set SSL_CERT_FILE / SSL_CERT_DIR takes the place of the system store there; keep the system's too.
    if os.path.isfile(paths.openssl_cafile) and not _same_path(paths.openssl_cafile, paths.cafile):
        with suppress(ssl.SSLError, OSError):
            context.load_verify_locations(cafile=paths.openssl_cafile)
    if os.path.isdir(paths.openssl_capath) and not _same_path(paths.openssl_capath, paths.capath):
        context.load_verify_locations(capath=paths.openssl_capath)
    context.load_verify_locations(cafile=certifi.where())
    if ca_bundle is not None:
        _load_ca_bundle(context, ca_bundle)
    return context


# OpenSSL's verify results for a certificate valid for another name or address than the one asked for.
_X509_V_ERR_HOSTNAME_MISMATCH = 62
_X509_V_ERR_IP_ADDRESS_MISMATCH = 64


def _ssl_text(exc: ssl.SSLError) -> str:
    """OpenSSL's words for ``exc``, without the source location Python appends."""
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", text)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def transport_error(exc: httpx.RequestError, *, method: str, url: str) -> TransportError:
    """The :class:`TransportError` for a request that got no response, saying what failed from the cause
    httpx wraps: a :class:`TLSError` for certificate, host name and handshake failures, a
    :class:`HostNotFound` for a name that does not exist, else a retryable one (timeout, refused, dropped)."""
    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return TransportError(f"timed out ({kind})", method=method, url=url, reason="timeout")
    causes = list(_chain(exc))
    # A TLS error while connecting is the handshake; one later is a dropped connection.
    connecting = isinstance(exc, httpx.ConnectError)
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = str(cause.verify_message or _ssl_text(cause)).rstrip(".")
            if cause.verify_code in (_X509_V_ERR_HOSTNAME_MISMATCH, _X509_V_ERR_IP_ADDRESS_MISMATCH):
                message, reason = f"TLS certificate does not match the host: {detail}", "hostname"
            else:
                message = f"TLS certificate not trusted: certificate verify failed: {detail}"
                reason = "certificate"
            return TLSError(message, method=method, url=url, reason=reason)
        if isinstance(cause, ssl.SSLError) and connecting:
            return TLSError(f"TLS handshake failed: {_ssl_text(cause)}", method=method, url=url, reason="tls")
        if isinstance(cause, ConnectionRefusedError):
            return TransportError("connection refused", method=method, url=url, reason="refused")
        if isinstance(cause, socket.gaierror):
            return _dns_error(httpx.URL(url).host, cause).for_request(method, url)
    # Only the system's words are shown: httpx's own messages may quote a header value (a token).
    words = next((c.strerror for c in causes if isinstance(c, OSError) and c.strerror), None)
    shown = f"{kind}: {words}" if words else kind
    return TransportError(f"connection failed ({shown})", method=method, url=url, reason="connection")


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
