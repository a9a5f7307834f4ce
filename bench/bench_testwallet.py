"""Benchmark: signed incoming-payment grant requests against one test-wallet process; one JSON line.

The wallet runs as its own process (``python -m testwallet``); this process is the client. It keeps a
few keep-alive connections busy with freshly signed ``POST <authServer>`` grant requests (each one is
verified by the wallet against the client's JWKS, creates a grant and a token) for a fixed count, so it
stops by itself, and prints ``{"bench": "testwallet", "requests_per_s": ...}``. Details go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REQUESTS = 6000
WARMUP = 300
CONNECTIONS = 8


async def _worker(host: str, port: int, requests: list[bytes], results: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            results.append(status)
    finally:
        writer.close()


def _requests(count: int, *, auth_server: str, client_url: str, key: object, key_id: str) -> list[bytes]:
    """Signed grant requests as raw HTTP/1.1 bytes (signing is part of the client's cost, done up front
    per batch so the wallet, not this process, is what is measured)."""
    from payments.signing import json_body, sign_headers

    parts = urlsplit(auth_server)
    body = json_body(
        {
            "access_token": {
                "access": [{"type": "incoming-payment", "actions": ["read", "complete", "create"]}]
            },
            "client": client_url,
        }
    )
    requests = []
    for _ in range(count):
        headers = sign_headers(
            method="POST",
            url=auth_server,
            headers={},
            body=body,
            private_key=key,
            key_id=key_id,  # type: ignore[arg-type]
        )
        lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Accept: application/json"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        requests.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return requests


async def _run(requests: list[bytes], host: str, port: int) -> tuple[float, list[int]]:
    results: list[int] = []
    batches = [requests[i::CONNECTIONS] for i in range(CONNECTIONS)]
    start = time.perf_counter()
    await asyncio.gather(*(_worker(host, port, batch, results) for batch in batches))
    return time.perf_counter() - start, results


def main() -> None:
    """Start a wallet, warm it up, then time REQUESTS signed grant requests over CONNECTIONS connections."""
    from payments.keys import generate_private_key, public_jwk
    from testwallet.testing import running_wallet

    key = generate_private_key()
    jwk = public_jwk(key, "bench-key")
    seed = {
        "wallets": [
            {"name": "platform", "publicName": "Bench", "assetCode": "USD", "assetScale": 2, "keys": [jwk]},
            {"name": "bob", "publicName": "Bob", "assetCode": "USD", "assetScale": 2},
        ]
    }
    with running_wallet(seed, admin=False) as wallet:
        host, port = urlsplit(wallet.base_url).hostname or "127.0.0.1", urlsplit(wallet.base_url).port or 80
        common = {
            "auth_server": wallet.auth_server,
            "client_url": wallet.wallet_url("platform"),
            "key": key,
            "key_id": "bench-key",
        }
        asyncio.run(_run(_requests(WARMUP, **common), host, port))
        elapsed, statuses = asyncio.run(_run(_requests(REQUESTS, **common), host, port))
    failures = sum(status != 200 for status in statuses)
    if failures or len(statuses) != REQUESTS:
        print(f"bench_testwallet: {failures} failed of {len(statuses)}", file=sys.stderr)
        raise SystemExit(1)
    rate = REQUESTS / elapsed
    print(
        f"bench_testwallet: {REQUESTS} signed grant requests, {elapsed:.2f}s, {CONNECTIONS} connections",
        file=sys.stderr,
    )
    print(json.dumps({"bench": "testwallet", "requests_per_s": round(rate, 1)}))


if __name__ == "__main__":
    main()
