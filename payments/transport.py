"""The guarded HTTP/1.1 transport under the shared ``httpx.Client``: keep-alive connections to wallets,
each opened only to an address the :class:`~payments.safe_http.URLPolicy` allows.

Each request borrows one idle connection of its origin (or opens one) and gives it back once its body is
read to the end; nothing is shared while in use, so threads never wait on each other here. Every connect,
TLS handshake, write and read gets at most the time the current :func:`~payments.safe_http.deadline`
leaves. A connection the server closed while it sat idle is dropped before it is used, so a request is
never sent twice: a create is not retried blindly.
"""

from __future__ import annotations

import contextlib
import http.client
import http.cookiejar
import io
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from .safe_http import URLPolicy, _within, ssl_context

__all__ = ["GuardedTransport", "build_http_client"]

# Seconds an idle connection is kept: under Node's default 5 s (Rafiki's servers), so we let go first rather
# than send a request into a connection the server is closing.
KEEPALIVE_SECONDS = 4.0
CHUNK = 64 * 1024
Origin = tuple[str, str, int]


class _DeadlineReader(io.RawIOBase):
    """A socket's input whose every read gets at most the read timeout and the time the deadline leaves."""

    def __init__(self, sock: socket.socket, timeout: float | None) -> None:
        self._sock = sock
        self._timeout = timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_within(self._timeout, httpx.ReadTimeout))
        return self._sock.recv_into(buffer)


class _Connection:
    """One open socket to an origin, with the moment it went idle."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.idle_since = time.monotonic()
        self.read_timeout: float | None = None

    def reusable(self) -> bool:
        """Whether it is fresh enough and the server has neither closed it nor sent anything unasked."""
        if time.monotonic() - self.idle_since > KEEPALIVE_SECONDS:
            return False
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def makefile(self, mode: str) -> io.BufferedReader:
        """What ``http.client.HTTPResponse`` reads the answer from."""
        return io.BufferedReader(_DeadlineReader(self.sock, self.read_timeout), CHUNK)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class _Body(httpx.SyncByteStream):
    """The response body as it arrives; its connection goes back to the pool once the body is read to
    the end, and is closed if the body is left unread."""

    def __init__(
        self,
        response: http.client.HTTPResponse,
        connection: _Connection,
        release: Callable[[_Connection], None],
    ) -> None:
        self._response = response
        self._connection: _Connection | None = connection
        self._release = release
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            while chunk := self._response.read1(CHUNK):
                yield chunk
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out") from exc
        except (http.client.HTTPException, OSError) as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
        self._done = True

    def close(self) -> None:
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        keep = self._done and not self._response.will_close
        self._response.close()
        if keep:
            self._release(connection)
        else:
            connection.close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport whose connections are checked against a :class:`URLPolicy`; TLS trusts what
    :func:`~payments.safe_http.ssl_context` does, with ``ca_bundle`` added (ValueError if it cannot be
    used). Up to ``max_connections`` idle connections are kept for reuse."""

    def __init__(
        self, policy: URLPolicy, *, max_connections: int = 100, ca_bundle: str | None = None
    ) -> None:
        self._policy = policy
        self._ssl_context = ssl_context(ca_bundle)
        self._max_idle = max_connections
        self._idle: dict[Origin, list[_Connection]] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        connection = self._idle_connection(origin) or self._connect(origin, timeouts.get("connect"))
        try:
            connection.sock.settimeout(_within(timeouts.get("write"), httpx.WriteTimeout))
            connection.sock.sendall(_head(request) + request.read())
            connection.read_timeout = timeouts.get("read")
            # It reads through `connection.makefile`, so every read keeps to the deadline.
            response = http.client.HTTPResponse(connection, method=request.method)  # type: ignore[arg-type]
            response.begin()
        except httpx.TimeoutException:
            connection.close()
            raise
        except TimeoutError as exc:
            connection.close()
            raise httpx.ReadTimeout(str(exc) or "timed out") from exc
        except (http.client.HTTPException, OSError) as exc:
            connection.close()
            raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from exc
        return httpx.Response(
            response.status,
            headers=[
                (name.encode("latin-1"), value.encode("latin-1")) for name, value in response.getheaders()
            ],
            stream=_Body(response, connection, lambda done: self._give_back(origin, done)),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode("latin-1")},
        )

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        """The most recently used idle connection to `origin` that can still be used, if any."""
        while True:
            with self._lock:
                stack = self._idle.get(origin)
                if not stack:
                    return None
                connection = stack.pop()
            if connection.reusable():
                return connection
            connection.close()

    def _give_back(self, origin: Origin, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        with self._lock:
            if sum(map(len, self._idle.values())) < self._max_idle:
                self._idle.setdefault(origin, []).append(connection)
                return
        connection.close()

    def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        """A new connection to `origin`, at an address the policy allows (resolved again now)."""
        scheme, host, port = origin
        address = self._policy.safe_addresses(host, port)[0]
        try:
            sock = socket.create_connection((address, port), timeout=_within(timeout, httpx.ConnectTimeout))
        except OSError as exc:
            raise _connect_error(exc) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock.settimeout(_within(timeout, httpx.ConnectTimeout))
                # Certificate and host name checks use the URL's host, not the address connected to.
                sock = self._ssl_context.wrap_socket(sock, server_hostname=host)
        except BaseException as exc:
            sock.close()
            if isinstance(exc, OSError):
                raise _connect_error(exc) from exc
            raise
        return _Connection(sock)


def _connect_error(exc: OSError) -> httpx.TransportError:
    """The httpx error for a connection or TLS handshake that failed with `exc` (kept as its cause)."""
    if isinstance(exc, TimeoutError):
        return httpx.ConnectTimeout(str(exc) or "timed out")
    return httpx.ConnectError(f"{type(exc).__name__}: {exc}")


def _head(request: httpx.Request) -> bytes:
    """The request line and headers, exactly as httpx built them (the signature covers some)."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    lines += [b"%s: %s" % (name, value) for name, value in request.headers.raw]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def build_http_client(
    policy: URLPolicy, *, timeout: float | httpx.Timeout, ca_bundle: str | None = None
) -> httpx.Client:
    """Create the shared ``httpx.Client``: guarded transport (trusting ``ca_bundle`` too, when given), no env
    proxies, no redirects, no cookies, a timeout."""
    return CookielessClient(
        transport=GuardedTransport(policy, ca_bundle=ca_bundle),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


class _EmptyJar(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


class NoCookies(httpx.Cookies):
    """Cookies that are never kept: Open Payments has none, and a wallet must not be able to make the
    client carry anything from one call to the next (or to another wallet). A response's `Set-Cookie`
    headers are not even read: httpx rebuilds each request and response in urllib's shapes to read them."""

    def __init__(self) -> None:
        super().__init__(_EmptyJar())

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


NO_COOKIES = NoCookies()


class CookielessClient(httpx.Client):
    """An ``httpx.Client`` whose cookies are always the empty :data:`NO_COOKIES`."""

    @property
    def cookies(self) -> httpx.Cookies:
        return NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None
