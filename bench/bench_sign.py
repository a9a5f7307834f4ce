"""Benchmark: sign (and verify) one Open Payments POST with a ~200-byte JSON body; prints one JSON line."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LOOPS = 9
PER_LOOP = 400
URL = "https://op.wallet.example/438fa74a-fa7d-4317-9ced-dde32ece1787/incoming-payments"


def _median_us(call: object, per_loop: int) -> float:
    assert callable(call)
    for _ in range(per_loop // 4):  # warm up caches and the allocator
        call()
    timings = []
    for _ in range(LOOPS):
        start = time.perf_counter()
        for _ in range(per_loop):
            call()
        timings.append((time.perf_counter() - start) / per_loop * 1e6)
    return statistics.median(timings)


def main() -> None:
    """Time sign_headers and verify_request for a typical incoming-payment create."""
    from payments import generate_private_key, json_body, jwks, public_jwk, sign_headers, verify_request

    key = generate_private_key()
    body = json_body(
        {
            "walletAddress": "https://wallet.example/bob",
            "incomingAmount": {"value": "1000", "assetCode": "EUR", "assetScale": 2},
            "expiresAt": "2026-09-30T12:00:00.000Z",
            "metadata": {"description": "Job #42 payout", "externalRef": "job-42"},
        }
    )
    headers = {"Authorization": "GNAP OS9M2PMHKUR64TB8N6BW"}

    def sign() -> dict[str, str]:
        return sign_headers(method="POST", url=URL, headers=headers, body=body, private_key=key, key_id="k1")

    signed = headers | sign()
    document = jwks(public_jwk(key, "k1"))

    def verify() -> str:
        return verify_request(method="POST", url=URL, headers=signed, body=body, jwks=document)

    result = {
        "bench": "sign",
        "us_per_request": round(_median_us(sign, PER_LOOP), 1),
        "verify_us_per_request": round(_median_us(verify, PER_LOOP // 2), 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
