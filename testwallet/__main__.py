"""``python -m testwallet --host 127.0.0.1 --port 4000 --seed seed.json [options]``.

Why uvicorn (ASGI) in one process: the auth server must fetch foreign clients' JWKS over HTTP in the
middle of a request (possibly from this very server), settlement is a timer that fires after the
response, and grant requests are short CPU-bound steps. An asyncio loop serves many connections
concurrently without threads, and because no handler awaits while it holds the store lock, every state
change is atomic. uvicorn picks uvloop/httptools when they are installed (they are not pinned here;
h11 and the stdlib loop measured 1,500-1,900 signed grant requests/s on this 2-core machine, client included).

``--port 0`` binds a free port; the first line on stdout is always
``testwallet listening on <base URL>``, which :mod:`testwallet.testing` waits for.
"""

from __future__ import annotations

import socket
import sys

import uvicorn

from .app import build_store, create_app
from .config import Options, options_from_args
from .state import SeedError


def serve(options: Options) -> None:
    """Bind, announce the base URL on stdout, and serve until SIGINT/SIGTERM."""
    sock = socket.socket(
        socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )  # proto set: asyncio then disables Nagle
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((options.host, options.port))
    sock.listen(2048)  # connections made after the announcement queue until uvicorn accepts them
    port = sock.getsockname()[1]
    base_url = options.public_url or f"http://{options.host}:{port}"
    store = build_store(options, base_url)
    app = create_app(options, store)
    config = uvicorn.Config(
        app,
        log_level=options.log_level,
        access_log=options.access_log,
        lifespan="on",
        timeout_keep_alive=30,
        backlog=2048,
    )
    server = uvicorn.Server(config)
    print(f"testwallet listening on {base_url}", flush=True)
    server.run(sockets=[sock])


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
