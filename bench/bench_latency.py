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
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, env_int, percentile, say


def main() -> None:
    workers = env_int("BENCH_WORKERS", 2)
    calibration = env_int("BENCH_LATENCY_CALIBRATION", 500)
    seconds = env_int("BENCH_LATENCY_SECONDS", 15)
    with Stack.up(workers=workers, log_level=os.environ.get("BENCH_LOG_LEVEL", "warning")) as stack:
        stack.warm_up(4 * workers)
        rate = stack.burst(calibration)["links_per_s"] / 2
        count = max(20, int(rate * seconds))
        pairs = stack.jobs(count)
        time.sleep(1.0)  # the burst's last tasks are acknowledged
        committed: dict[str, float] = {}
        start = time.monotonic()
        for n, (job_id, quote_id) in enumerate(pairs):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            attempt_id, at = stack.approve(job_id, quote_id)
            committed[attempt_id] = at
        late = time.monotonic() - start - (count - 1) / rate
        ready = stack.wait_for_links(list(committed), timeout=120)
    waits = [(ready[pk].timestamp() - at) * 1000 for pk, at in committed.items()]
    say(
        f"{count} approvals at {rate:.1f}/s (schedule {late * 1000:.0f} ms late at the end); "
        f"mean {statistics.fmean(waits):.1f} ms, max {max(waits):.1f} ms"
    )
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
