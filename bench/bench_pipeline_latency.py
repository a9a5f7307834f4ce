"""Benchmark: the pipeline when wallets are far away: the local wallet answers every request after
BENCH_LATENCY_MS (100) milliseconds.

First BENCH_JOBS (1000) approvals enqueued at once, until every payment URL is stored: links per second
and worker CPU milliseconds per link. Then, as `bench_latency` does on loopback, approvals arrive
steadily at half that rate for BENCH_LATENCY_SECONDS (15), and each one's wait from its commit to its
stored link gives p50 and p99. Workers: BENCH_WORKERS (2) processes of BENCH_THREADS (64) threads each.
Prints ``{"bench": "pipeline_latency", "latency_ms": 100, "links_per_s": …, "cpu_ms_per_link": …,
"p50_ms": …, "p99_ms": …}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, env_int, percentile, say


def main() -> None:
    latency = env_int("BENCH_LATENCY_MS", 100)
    jobs, workers = env_int("BENCH_JOBS", 1000), env_int("BENCH_WORKERS", 2)
    threads = env_int("BENCH_THREADS", 64)
    seconds = env_int("BENCH_LATENCY_SECONDS", 15)
    log_level = os.environ.get("BENCH_LOG_LEVEL", "warning")
    with Stack.up(workers=workers, threads=threads, latency_ms=latency, log_level=log_level) as stack:
        stack.warm_up(2 * threads)
        time.sleep(0.5)
        burst = stack.burst(jobs)
        rate = burst["links_per_s"] / 2
        waits = stack.steady(rate, seconds)
    say(f"steady {rate:.1f} approvals/s for {seconds}s: {len(waits)} links")
    print(
        json.dumps(
            {
                "bench": "pipeline_latency",
                "latency_ms": latency,
                "links_per_s": burst["links_per_s"],
                "cpu_ms_per_link": burst["cpu_ms_per_link"],
                "p50_ms": round(percentile(waits, 0.5), 1),
                "p99_ms": round(percentile(waits, 0.99), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
