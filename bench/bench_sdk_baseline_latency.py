"""Benchmark: the official Node SDK's link sequence (as `bench_sdk_baseline`), BENCH_SDK_CONCURRENCY (64)
sequences at a time, against the local wallet answering every request after BENCH_LATENCY_MS (100): the
anchor `pipeline_latency` is compared with. Prints ``{"bench": "sdk_baseline_latency", "latency_ms": 100,
"concurrency": 64, "links_per_s": …, "p50_ms": …}``. BENCH_SDK_LINKS (1000) sets the count.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sdk_baseline import sdk_links
from stack import env_int


def main() -> None:
    links, concurrency = env_int("BENCH_SDK_LINKS", 1000), env_int("BENCH_SDK_CONCURRENCY", 64)
    latency = env_int("BENCH_LATENCY_MS", 100)
    seconds, ms = sdk_links(links, concurrency=concurrency, latency_ms=latency)
    print(
        json.dumps(
            {
                "bench": "sdk_baseline_latency",
                "latency_ms": latency,
                "concurrency": concurrency,
                "links_per_s": round(links / seconds, 1),
                "p50_ms": round(statistics.median(ms), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
