"""Benchmark: what a funder waits on a busy marketplace, from the approval's commit to the stored link.

First a burst (as ``bench_pipeline``, BENCH_LATENCY_CALIBRATION approvals, 500) measures links_per_s on
this stack; then approvals arrive at a steady rate of half that, one every 1/rate seconds (open loop:
the schedule does not wait for the links), for BENCH_LATENCY_SECONDS (15). Each approval is what the
approve view does: the service in a transaction, the link task sent on commit. The latency of one is
its link's ``link_ready_at`` minus the moment its transaction committed. Prints
``{"bench": "latency", "rate_per_s": …, "p50_ms": …, "p99_ms": …}``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, env_int, percentile


def main() -> None:
    workers = env_int("BENCH_WORKERS", 2)
    calibration = env_int("BENCH_LATENCY_CALIBRATION", 500)
    seconds = env_int("BENCH_LATENCY_SECONDS", 15)
    with Stack.up(workers=workers, log_level=os.environ.get("BENCH_LOG_LEVEL", "warning")) as stack:
        stack.warm_up(4 * workers)
        rate = stack.burst(calibration)["links_per_s"] / 2
        waits = stack.steady(rate, seconds)
    print(
        json.dumps(
            {
                "bench": "latency",
                "rate_per_s": round(rate, 1),
                "p50_ms": round(percentile(waits, 0.5), 1),
                "p99_ms": round(percentile(waits, 0.99), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
