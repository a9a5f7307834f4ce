"""Benchmark: the link sequence run by the official Node SDK, sequentially, against the local wallet.

The anchor the pipeline is compared with: ``@interledger/open-payments`` (tests/node/node_modules, default
options) in one warm Node process makes, per link, the calls the pipeline's link step needs: both wallet
addresses, the incoming-payment grant, the incoming payment, the quote grant, the quote and the
interactive grant (7 requests). Prints ``{"bench": "sdk_baseline", "links_per_s": …, "p50_ms": …}``.
BENCH_SDK_LINKS (300) sets the count.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import ROOT, Stack, env_int, say

SCRIPT = ROOT / "bench" / "node" / "sdk_baseline.js"
NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
WARMUP = 20


def main() -> None:
    links = env_int("BENCH_SDK_LINKS", 300)
    seconds, ms = sdk_links(links)
    print(
        json.dumps(
            {
                "bench": "sdk_baseline",
                "links_per_s": round(links / seconds, 1),
                "p50_ms": round(statistics.median(ms), 2),
            }
        )
    )


def sdk_links(links: int, *, concurrency: int = 1, latency_ms: int = 0) -> tuple[float, list[float]]:
    """The SDK's link sequence `links` times, `concurrency` at a time, against a local wallet answering
    after `latency_ms`: the seconds it took and each link's milliseconds."""
    if shutil.which("node") is None or not (NODE_MODULES / "@interledger" / "open-payments").is_dir():
        raise SystemExit("the SDK benchmarks need Node.js and tests/node/node_modules (run `make test` once)")
    with Stack.up(workers=0, latency_ms=latency_ms) as stack:
        stack.wallet.stats(reset=True)
        data = {
            "clientUrl": stack.env["OP_CLIENT_WALLET_ADDRESS"],
            "keyId": stack.env["OP_KEY_ID"],
            "keyPath": stack.env["OP_PRIVATE_KEY"],
            "sender": stack.wallet.wallet_url("fiona"),
            "receiver": stack.wallet.wallet_url("pavel"),
            "finishUri": "http://127.0.0.1:8000/payments/finish",
            "links": links,
            "warmup": WARMUP,
            "concurrency": concurrency,
        }
        done = subprocess.run(
            ["node", str(SCRIPT)],
            input=json.dumps(data),
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"the SDK script failed:\n{done.stderr[-3000:]}")
        stats = stack.wallet.stats()
    result = json.loads(done.stdout)
    per_link = stats["requests"] / (links + WARMUP)
    took = result["seconds"]
    say(f"{links} SDK links, {concurrency} at a time, in {took:.2f}s; {per_link:.1f} requests/link")
    return result["seconds"], result["ms"]


if __name__ == "__main__":
    main()
