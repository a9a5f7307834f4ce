"""``python -m testwallet --host 127.0.0.1 --port 4000 --seed seed.json [options]``.

Why uvicorn (ASGI) in one process: the auth server must fetch foreign clients' JWKS over HTTP in the
middle of a request (possibly from this very server), settlement is a timer that fires after the
response, and grant requests are short CPU-bound steps. An asyncio loop serves many connections
concurrently without threads, and because no handler awaits while it holds the store lock, every state
change is atomic. uvicorn picks uvloop/httptools when they are installed (they are not pinned here;
h11 and the stdlib loop measured 1,500-1,900 signed grant requests/s on this 2-core machine, client included).

``--port 0`` binds a free port; the first line on stdout is always
``testwallet listening on <base URL>``, which :mod:`testwallet.testing` waits for. With ``--tls`` the
base URL is ``https://HOST:PORT`` and a second line ``testwallet CA certificate: <path of ca.pem>``
names the certificate clients must trust (see :mod:`testwallet.tls`).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from . import tls
from .app import build_store, create_app
from .config import Options, options_from_args
from .state import SeedError

CA_LINE_PREFIX = "testwallet CA certificate: "


def serve(options: Options) -> None:
    """Bind, announce the base URL on stdout, and serve until SIGINT/SIGTERM."""
    sock = socket.socket(
        socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )  # proto set: asyncio then disables Nagle
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((options.host, options.port))
    sock.listen(2048)  # connections made after the announcement queue until uvicorn accepts them
    port = sock.getsockname()[1]
    scheme = "https" if options.tls else "http"
    base_url = options.public_url or f"{scheme}://{options.host}:{port}"
    store = build_store(options, base_url)
    announcement = [f"testwallet listening on {base_url}"]
    with contextlib.ExitStack() as cleanup:
        if options.tls:
            directory = options.tls_dir
            if directory is None:
                directory = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="testwallet-tls-")))
                # uvicorn re-raises SIGTERM once it has shut down; by default that would end the process
                # before the temporary directory (with its private keys) is removed.
                signal.signal(signal.SIGTERM, _exit_on_signal)
            with tls.issued(directory, tls.server_names(options.host, options.public_url)) as files:
                config = _config(options, create_app(options, store, trusted_ca=files.ca_cert), files)
                config.load()  # reads the server certificate and key while no sibling can replace them
            announcement.append(f"{CA_LINE_PREFIX}{files.ca_cert}")
        else:
            config = _config(options, create_app(options, store), None)
        server = uvicorn.Server(config)
        print("\n".join(announcement), flush=True)
        server.run(sockets=[sock])


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _config(options: Options, app: Any, files: tls.TlsFiles | None) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        # The C parser and event loop: a quarter less CPU per request than h11 on asyncio's loop, which
        # counts when the wallet shares a machine with what is measured against it.
        http="httptools",
        loop="uvloop",
        log_level=options.log_level,
        access_log=options.access_log,
        lifespan="on",
        timeout_keep_alive=30,
        backlog=2048,
        ssl_certfile=files.server_cert if files else None,
        ssl_keyfile=files.server_key if files else None,
    )


def main(argv: list[str] | None = None) -> int:
    options = options_from_args(argv)
    try:
        serve(options)
    except (SeedError, OSError, ValueError) as exc:  # bad seed/state file, port in use: say so, no traceback
        print(f"testwallet: error: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
