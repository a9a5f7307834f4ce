"""Fixtures for payments tests: fixed keys and a runner for the official Node peers."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "tests" / "node" / "node_modules"
NODE_SCRIPTS = Path(__file__).resolve().parent / "node"
REQUIRED_PACKAGES = ("@interledger/http-signature-utils", "@interledger/open-payments")

# A fixed key makes every signature in these tests reproducible (Ed25519 is deterministic).
CLIENT_KEY_SEED = bytes(range(32))
CLIENT_KEY_ID = "client-key-1"


@pytest.fixture
def client_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(CLIENT_KEY_SEED)


def _node_missing(node_modules: Path) -> str | None:
    if shutil.which("node") is None:
        return "`node` is not on PATH"
    for package in REQUIRED_PACKAGES:
        if not (node_modules / package / "package.json").is_file():
            return f"{package} is not installed under {node_modules}"
    return None


def node_runner(node_modules: Path = NODE_MODULES) -> Callable[[str, Any], Any]:
    """Return a runner for the Node scripts; if Node or the packages are missing, fail under CI, else skip."""
    missing = _node_missing(node_modules)
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Node interop tests need Node.js and the pinned npm packages: {missing}")
        pytest.skip(f"{missing}; run `make test` (which installs them) to run the Node interop tests")

    def run(script: str, payload: Any) -> Any:
        completed = subprocess.run(
            ["node", str(NODE_SCRIPTS / script)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "NODE_PATH": str(node_modules)},
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        return json.loads(completed.stdout)

    return run


@pytest.fixture
def run_node() -> Callable[[str, Any], Any]:
    """Run ``tests/payments/node/<script>`` with JSON on stdin; return its parsed JSON stdout."""
    return node_runner()


class _LocalHandler(BaseHTTPRequestHandler):
    """Loopback-only test server: a wallet, a redirect, oversized bodies, a slow and a trickling answer."""

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_GET(self) -> None:
        origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/alice":
            wallet = {
                "id": f"{origin}/alice",
                "publicName": "Alice",
                "assetCode": "EUR",
                "assetScale": 2,
                "authServer": f"{origin}/auth/tenant",
                "resourceServer": f"{origin}/rs/tenant",
            }
            self._send(200, json.dumps(wallet).encode(), {"Content-Type": "application/json"})
        elif self.path == "/redirect":
            self._send(302, b"", {"Location": f"{origin}/alice", "Content-Length": "0"})
        elif self.path == "/big-declared":
            self._send(200, b"x" * (10 * 1024 * 1024), {"Content-Length": str(10 * 1024 * 1024)})
        elif self.path == "/big-streamed":
            # No Content-Length: the body runs until the connection closes, so only counting can stop it.
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for _ in range(160):
                    self.wfile.write(b"y" * 65536)
        elif self.path == "/trickle":
            # Headers at once, then one byte of body every 0.2 s for 60 s: no single read ever times out.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "300")
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for _ in range(300):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, b"{}", {"Content-Type": "application/json"})
        else:
            self._send(
                404,
                b'{"error":{"code":"404","description":"not found"}}',
                {"Content-Type": "application/json"},
            )


@pytest.fixture
def local_server() -> Iterator[str]:
    """Serve :class:`_LocalHandler` on 127.0.0.1 and yield its origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LocalHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
