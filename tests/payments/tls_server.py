"""A throwaway certificate authority and a local https server for the TLS tests."""

from __future__ import annotations

import contextlib
import datetime
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from testwallet import tls


@dataclass(frozen=True)
class Issued:
    """A certificate and its key, PEM-encoded."""

    cert_pem: bytes
    key_pem: bytes


class CertificateAuthority:
    """A self-signed CA that issues server certificates for the names and addresses asked for."""

    def __init__(self, name: str = "Test CA") -> None:
        self.certificate, self._key = tls.new_ca(name)

    @property
    def pem(self) -> bytes:
        return tls.certificate_pem(self.certificate)

    def issue(self, names: list[str], *, expired: bool = False) -> Issued:
        """A server certificate valid for ``names`` (host names or IP addresses), signed by this CA; with
        ``expired``, one whose validity ended yesterday."""
        if expired:
            yesterday = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
            certificate, key = tls.server_certificate(
                names,
                self.certificate,
                self._key,
                not_before=yesterday - datetime.timedelta(days=1),
                not_after=yesterday,
            )
        else:
            certificate, key = tls.server_certificate(names, self.certificate, self._key)
        return Issued(tls.certificate_pem(certificate), tls.key_pem(key))


class _WalletHandler(BaseHTTPRequestHandler):
    """Answers GET /alice with a wallet address document whose URLs are on this server."""

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        origin = f"https://127.0.0.1:{self.connection.getsockname()[1]}"
        wallet: dict[str, Any] = {
            "id": f"{origin}/alice",
            "publicName": "Alice",
            "assetCode": "EUR",
            "assetScale": 2,
            "authServer": f"{origin}/auth",
            "resourceServer": f"{origin}/rs",
        }
        status, body = (200, json.dumps(wallet).encode()) if self.path == "/alice" else (404, b"{}")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client refusing our certificate ends the handshake with an error here; that is the test.
        pass


@contextlib.contextmanager
def serve_https(issued: Issued, directory: Path) -> Iterator[str]:
    """Serve the wallet handler over TLS with ``issued`` on 127.0.0.1; yield the origin."""
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(issued.cert_pem)
    key_file.write_bytes(issued.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server = _QuietServer(("127.0.0.1", 0), _WalletHandler)
    # The handshake runs in each request's thread, so a failed one never holds up the accepting loop.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def hang_up_server() -> Iterator[str]:
    """A plain TCP server on 127.0.0.1 that closes every connection without answering; yields the origin."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)  # so the loop sees `stop` soon after the test ends
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                connection, _ = listener.accept()
                with connection:
                    connection.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
