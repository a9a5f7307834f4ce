"""Benchmark: authorize → paid when wallets are far away (every request answered after BENCH_LATENCY_MS,
100): continuation, outgoing payment and polling, with the local wallet consenting by itself.

Links are made and consented to first (not timed); then BENCH_PAID (300) are authorized at once as the
finish callback does it (the wallet's redirect verified, `continue_grant` sent on commit), giving paid per
second; then as many again arrive steadily at half that rate, each timed from that commit to the
attempt's `succeeded` (p50, p99). The wallet's GNAP `wait` is 0: a person
takes longer than it in their wallet. Workers: BENCH_WORKERS (2) processes of BENCH_THREADS (64) threads.
Prints ``{"bench": "paid_latency", "latency_ms": 100, "paid_per_s": …, "p50_ms": …, "p99_ms": …}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from stack import Stack, env_int, percentile, say


def main() -> None:
    latency = env_int("BENCH_LATENCY_MS", 100)
    count = env_int("BENCH_PAID", 300)
    workers, threads = env_int("BENCH_WORKERS", 2), env_int("BENCH_THREADS", 64)
    log_level = os.environ.get("BENCH_LOG_LEVEL", "warning")
    with Stack.up(
        workers=workers, threads=threads, latency_ms=latency, auto_consent="accept", log_level=log_level
    ) as stack:
        stack.wallet.settings(waitSeconds=0)
        burst, steady = consented(stack, count), consented(stack, count)
        say(f"{2 * count} links made and consented")
        paid = pay(burst, rate=None)
        elapsed = max(done for done, _ in paid.values()) - min(at for _, at in paid.values())
        rate = count / elapsed / 2
        say(f"{count} authorized at once, paid in {elapsed:.2f}s; now {rate:.1f}/s")
        waits = [(done - at) * 1000 for done, at in pay(steady, rate=rate).values()]
    print(
        json.dumps(
            {
                "bench": "paid_latency",
                "latency_ms": latency,
                "paid_per_s": round(count / elapsed, 1),
                "p50_ms": round(percentile(waits, 0.5), 1),
                "p99_ms": round(percentile(waits, 0.99), 1),
            }
        )
    )


def consented(stack: Stack, count: int) -> dict[str, dict[str, str]]:
    """`count` new links, consented to at the wallet: {attempt id: its finish-redirect parameters}."""
    ids, _ = stack.approve_burst(stack.jobs(count))
    stack.wait_for_links(ids, timeout=300)
    return consent_all(stack, ids)


def pay(redirects: dict[str, dict[str, str]], rate: float | None) -> dict[str, tuple[float, float]]:
    """Authorizes each attempt as the finish callback does, all at once or `rate` per second; {attempt id:
    (when it succeeded, when it was authorized)} in epoch seconds."""
    authorized: dict[str, float] = {}
    start = time.monotonic()
    for n, (attempt_id, redirect) in enumerate(redirects.items()):
        delay = start + n / rate - time.monotonic() if rate else 0
        if delay > 0:
            time.sleep(delay)
        authorized[attempt_id] = authorize(attempt_id, redirect)
    paid = wait_for_paid(list(redirects), timeout=300)
    return {pk: (paid[pk], at) for pk, at in authorized.items()}


def consent_all(stack: Stack, ids: list[str]) -> dict[str, dict[str, str]]:
    """Each attempt's finish-redirect parameters, from the wallet's consent page (which accepts by itself)."""
    from jobs.models import PaymentAttempt

    links = {
        str(pk): url for pk, url in PaymentAttempt.objects.filter(pk__in=ids).values_list("pk", "payment_url")
    }
    redirects = {}
    with httpx.Client(verify=stack.wallet.verify, timeout=30) as http:
        for attempt_id in ids:
            answer = http.get(links[attempt_id])
            query = parse_qs(urlsplit(answer.headers["location"]).query)
            redirects[attempt_id] = {name: values[0] for name, values in query.items()}
    return redirects


def authorize(attempt_id: str, redirect: dict[str, str]) -> float:
    """What the finish callback does for the funder: verify, move to authorized, send `continue_grant` on
    commit; the wall-clock time of the commit."""
    from django.db import transaction

    from jobs import services
    from jobs.models import PaymentAttempt
    from worker import tasks

    with transaction.atomic():
        services.attempt_finish(
            attempt=PaymentAttempt.objects.get(pk=attempt_id),
            received_hash=redirect.get("hash", ""),
            interact_ref=redirect.get("interact_ref", ""),
            result="",
            by_payer=True,
        )
    committed = time.time()
    tasks.continue_grant.delay(attempt_id)
    return committed


def wait_for_paid(ids: list[str], timeout: float) -> dict[str, float]:
    """{attempt id: when it succeeded (epoch seconds)} once every one has; stops the run on a failure.
    Asks only about the payments still pending, a few times a second (as `Stack.wait_for_links`)."""
    from jobs.models import PaymentAttempt

    deadline = time.monotonic() + timeout
    pending = set(ids)
    done: dict[str, float] = {}
    while True:
        rows = PaymentAttempt.objects.filter(pk__in=pending).exclude(status__in=("authorized", "processing"))
        for pk, status, at, error in rows.values_list("pk", "status", "finished_at", "error"):
            if status != "succeeded":
                raise SystemExit(f"payment {pk} did not succeed: {error!r}")
            done[str(pk)] = at.timestamp()
            pending.discard(str(pk))
        if not pending:
            return done
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(done)} of {len(ids)} paid after {timeout}s")
        time.sleep(0.25)


if __name__ == "__main__":
    main()
