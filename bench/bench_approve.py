"""Benchmark: the approve POST itself, while the workers generate the links of a burst of approvals.

The web process (gunicorn, as ``make demo`` and compose run it) takes BENCH_JOBS (1000)
``POST /api/jobs/<id>/quotes/<id>/approve`` with the funder's API token from BENCH_APPROVE_CLIENTS (4)
concurrent keep-alive clients, while BENCH_WORKERS (2) worker processes turn them into links. Each POST
is timed from send to the 202. Prints ``{"bench": "approve", "p50_ms": …, "p99_ms": …}``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, env_int, percentile, say


def main() -> None:
    jobs, workers = env_int("BENCH_JOBS", 1000), env_int("BENCH_WORKERS", 2)
    clients = env_int("BENCH_APPROVE_CLIENTS", 4)
    with Stack.up(workers=workers, log_level=os.environ.get("BENCH_LOG_LEVEL", "warning")) as stack:
        from jobs.models import PaymentAttempt
        from jobs.services import api_token_create

        base = stack.start_web()
        stack.warm_up(4 * workers)
        key = api_token_create(user=stack.funder, name="bench").key
        pairs = stack.jobs(jobs)
        timings: list[float] = []
        failures: list[str] = []

        def client(share: list[tuple[int, int]]) -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Token {key}"}, timeout=30) as http:
                http.post(f"/api/jobs/{share[0][0]}/quotes/{share[0][1]}/approve")  # connect (warm)
                for job_id, quote_id in share[1:]:
                    started = time.perf_counter()
                    response = http.post(f"/api/jobs/{job_id}/quotes/{quote_id}/approve")
                    timings.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 202:
                        failures.append(f"{response.status_code} {response.text[:200]}")

        threads = [threading.Thread(target=client, args=(pairs[i::clients],)) for i in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        if failures:
            raise SystemExit(f"{len(failures)} approvals failed, e.g. {failures[0]}")
        ids = [
            str(pk)
            for pk in PaymentAttempt.objects.filter(job_id__in=[j for j, _ in pairs]).values_list(
                "pk", flat=True
            )
        ]
        stack.wait_for_links(ids, timeout=max(120.0, jobs / 5))
        say(f"{jobs} approve POSTs in {elapsed:.2f}s from {clients} clients ({jobs / elapsed:.0f}/s)")
    print(
        json.dumps(
            {
                "bench": "approve",
                "p50_ms": round(percentile(timings, 0.5), 1),
                "p99_ms": round(percentile(timings, 0.99), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
