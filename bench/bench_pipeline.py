"""Benchmark: N approvals enqueued at once, W worker processes, until every payment URL is stored.

Prints ``{"bench": "pipeline", "jobs": N, "workers": W, "links_per_s": …, "http_calls_per_link": …,
"cpu_ms_per_link": …}``: links per second from the first task sent to the last payment URL stored;
requests the local wallet received per link (its ``/_admin/stats``); CPU time of the worker processes
(the Celery parent and its prefork children, from /proc) per link. BENCH_JOBS (1000) and
BENCH_WORKERS (2) set N and W. Before timing, a short warm-up lets each worker process open its
connections and fetch what it caches, as in a running marketplace.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, env_int


def main() -> None:
    jobs, workers = env_int("BENCH_JOBS", 1000), env_int("BENCH_WORKERS", 2)
    with Stack.up(workers=workers, log_level=os.environ.get("BENCH_LOG_LEVEL", "warning")) as stack:
        stack.warm_up(4 * workers)
        time.sleep(0.5)
        result = stack.burst(jobs)
    print(json.dumps({"bench": "pipeline", "jobs": jobs, "workers": workers, **result}))


if __name__ == "__main__":
    main()
