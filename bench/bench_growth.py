"""Benchmark: the pipeline and the reconciler as the history grows.

On one stack (W = BENCH_WORKERS (2) processes of BENCH_THREADS (64) threads, the wallet on loopback), the
median of 3 bursts of BENCH_JOBS (1000) links is timed with no history, then again after the database has been
filled with 100,000 and then 1,000,000 finished attempts (BENCH_GROWTH_SIZES), each with its job and
quote, spread over a year (nine in ten paid, their grants revoked). At each size one reconciler run
(`worker.reconciler.reconcile`, what beat sends every RECONCILE_EVERY_SECONDS) is timed too (the median
of 5). Prints ``{"bench": "growth", "attempts": [0, 100000, 1000000], "links_per_s": […],
"links_per_s_change_pct": […], "reconcile_ms": […]}``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, env_int, say

# Bursts per size, their median kept: one burst on this stack varies by about a tenth from run to run.
BURSTS = 3
HISTORY_SQL = [
    """INSERT INTO jobs_job (title, description, status, created_at, paid_at, funder_id)
       SELECT 'History job ' || g, '', CASE WHEN g %% 10 = 0 THEN 'open' ELSE 'paid' END,
              now() - (g %% 365) * interval '1 day', now() - (g %% 365) * interval '1 day', %(funder)s
       FROM generate_series(1, %(count)s) AS g""",
    """INSERT INTO jobs_quote (amount_value, asset_code, asset_scale, note, created_at, job_id, provider_id)
       SELECT 1250, 'USD', 2, '', j.created_at, j.id, %(provider)s
       FROM jobs_job AS j WHERE j.id > %(after)s""",
    """INSERT INTO jobs_paymentattempt (
           id, status, created_at, updated_at, finished_at, grant_revoked_at, job_id, quote_id,
           sender_wallet, receiver_wallet, sender_auth_server, incoming_payment_url, incoming_amount,
           receive_asset_code, receive_asset_scale, incoming_token, incoming_token_manage, op_quote_url,
           debit_amount, debit_asset_code, debit_asset_scale, receive_amount, client_nonce, interact_nonce,
           payment_url, continue_uri, continue_token, interact_ref, access_token, access_token_manage,
           idempotency_id, outgoing_payment_url, sent_amount, received_amount, polls, error, error_code,
           error_detail, receiver_already_paid, reported_result)
       SELECT gen_random_uuid(), CASE WHEN q.job_id %% 10 = 0 THEN 'failed' ELSE 'succeeded' END,
              q.created_at, q.created_at, q.created_at, q.created_at, q.job_id, q.id,
              'https://wallet.example/fiona', 'https://wallet.example/pavel', 'https://auth.wallet.example',
              'https://wallet.example/incoming-payments/' || q.id, 1250, 'USD', 2, '', '',
              'https://wallet.example/quotes/' || q.id, 1250, 'USD', 2, 1250, '', '',
              'https://auth.wallet.example/interact/' || q.id,
              'https://auth.wallet.example/continue/' || q.id,
              '', '', '', '', gen_random_uuid(), 'https://wallet.example/outgoing-payments/' || q.id,
              1250, 1250, 1, CASE WHEN q.job_id %% 10 = 0 THEN 'Your wallet stopped the payment.' ELSE '' END,
              CASE WHEN q.job_id %% 10 = 0 THEN 'http_403' ELSE '' END, '', false, ''
       FROM jobs_quote AS q WHERE q.job_id > %(after)s""",
]


def add_history(stack: Stack, count: int) -> None:
    """`count` finished attempts more, each with its own job and quote."""
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM jobs_job")
        after = cursor.fetchone()[0]
        values = {"count": count, "after": after, "funder": stack.funder.pk, "provider": stack.provider.pk}
        for statement in HISTORY_SQL:
            cursor.execute(statement, values)
        # A table that grew over a year has been vacuumed along the way; a bulk load has not.
        cursor.execute("VACUUM ANALYZE jobs_job, jobs_quote, jobs_paymentattempt")
    say(f"{count} finished attempts added in {time.monotonic() - started:.1f}s")


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
                add_history(stack, size - before)
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
