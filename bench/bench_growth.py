"""Benchmark: the pipeline and the reconciler as the history grows.

On one stack (W = BENCH_WORKERS (2) processes of BENCH_THREADS (64) threads, the wallet on loopback), the
median of 3 bursts of BENCH_JOBS (1000) links is timed with no history, then again after the database has
been filled with 100,000 and then 1,000,000 finished attempts (BENCH_GROWTH_SIZES) over a year, each with
its job and quote (`history.py`: nine in ten paid, every grant revoked, one paid job in fifty refunded). At
each size one reconciler run (`worker.reconciler.reconcile`, what beat sends every RECONCILE_EVERY_SECONDS)
is timed too (the median of 5). Prints ``{"bench": "growth", "attempts": [0, 100000, 1000000],
"links_per_s": […], "links_per_s_change_pct": […], "reconcile_ms": […]}``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from history import add_history
from stack import Stack, env_int

# Bursts per size, their median kept: one burst on this stack varies by about a tenth from run to run.
BURSTS = 3


def reconcile_ms() -> float:
    """The median of 5 timed reconciler runs, in milliseconds."""
    from worker import reconciler

    runs = []
    for _ in range(5):
        started = time.perf_counter()
        reconciler.reconcile()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def main() -> None:
    jobs = env_int("BENCH_JOBS", 1000)
    workers, threads = env_int("BENCH_WORKERS", 2), env_int("BENCH_THREADS", 64)
    sizes = [
        0,
        *(int(size) for size in (os.environ.get("BENCH_GROWTH_SIZES") or "100000,1000000").split(",")),
    ]
    links, reconciles = [], []
    with Stack.up(workers=workers, threads=threads) as stack:
        stack.warm_up(2 * threads)
        for before, size in zip([0, *sizes], sizes, strict=False):
            if size > before:
                add_history(size - before, stack.funder.pk, stack.provider.pk)
            time.sleep(0.5)
            links.append(statistics.median(stack.burst(jobs)["links_per_s"] for _ in range(BURSTS)))
            reconciles.append(round(reconcile_ms(), 1))
    print(
        json.dumps(
            {
                "bench": "growth",
                "attempts": sizes,
                "links_per_s": links,
                "links_per_s_change_pct": [round((rate / links[0] - 1) * 100, 1) for rate in links],
                "reconcile_ms": reconciles,
            }
        )
    )


if __name__ == "__main__":
    main()
