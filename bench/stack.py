"""What the pipeline benchmarks share: the local wallet, a PostgreSQL database of their own, Redis, workers.

    with Stack.up(workers=2) as stack:       # wallet subprocess, fresh database, W worker processes
        jobs = stack.jobs(1000)              # (job id, quote id) pairs: a funder's jobs, each with a quote
        ids = stack.approve_burst(jobs)      # approve every quote (the service), enqueue every link at once
        stack.wait_for_links(ids)            # {attempt id: link_ready_at}, after every payment URL is stored

Everything it starts it stops on exit (workers, wallet), and it drops its database and its Redis queue.
Progress goes to stderr; the benchmark scripts print their one JSON line.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from marketplace.processes import (  # noqa: E402
    Group,
    Process,
    answers,
    database,
    delete_queue,
    free_port,
    local_wallet,
)

PG = os.environ.get("BENCH_PG", "").split()
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
FUNDER_BALANCE = 10**15
AMOUNT = 1250
TICKS = os.sysconf("SC_CLK_TCK")
SEED = {
    "wallets": [
        {"name": "fiona", "publicName": "Fiona", "assetCode": "USD", "assetScale": 2,
         "balance": str(FUNDER_BALANCE)},
        {"name": "pavel", "publicName": "Pavel", "assetCode": "USD", "assetScale": 2},
    ]
}  # fmt: skip


def say(message: str) -> None:
    """A progress line on stderr."""
    print(f"  {message}", file=sys.stderr, flush=True)


def env_int(name: str, default: int) -> int:
    """A benchmark size from the environment (BENCH_JOBS, BENCH_WORKERS…)."""
    return int(os.environ.get(name) or default)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in process group `pgid` (from /proc/<pid>/stat)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def redis(group: Group) -> str:
    """REDIS_URL when it answers, else a `redis-server` of `group` on a free port."""
    if answers(REDIS_URL):
        return REDIS_URL
    port = free_port()
    group.redis(port)
    say(f"started redis-server on port {port}")
    return f"redis://127.0.0.1:{port}/0"


@dataclass
class Stack:
    """A running wallet, database, broker queue and worker processes, and the bench's funder."""

    wallet: Any
    tmp: Path
    processes: Group
    funder: Any = None
    provider: Any = None
    workers: list[Process] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return self.processes.env

    @classmethod
    @contextmanager
    def up(
        cls,
        *,
        workers: int,
        threads: int = 0,
        latency_ms: int = 0,
        auto_consent: str | None = None,
        log_level: str = "warning",
    ) -> Iterator[Stack]:
        """Wallet (answering every request after `latency_ms`), database (migrated), users and `workers`
        worker processes (prefork, or each with `threads` threads); torn down on exit."""
        with ExitStack() as exits:
            tmp = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
            wallet, _, op_env = exits.enter_context(
                local_wallet(tmp, SEED, auto_consent=auto_consent, startup_timeout=30)
            )
            if latency_ms:
                wallet.faults({"routes": {"*": {"latencyMs": latency_ms}}})
            db_url = exits.enter_context(database(PG_URL, prefix="bench", client_args=PG))
            redis_url = redis(exits.enter_context(Group(dict(os.environ), tmp)))
            env = {
                **op_env,
                "DJANGO_SETTINGS_MODULE": "marketplace.settings",
                # As deployed: DEBUG off (with it on, Django keeps a copy of every query it runs).
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "127.0.0.1",
                "DATABASE_URL": db_url,
                "REDIS_URL": redis_url,
                "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL") or redis_url,
                "CELERY_QUEUE": f"bench-{secrets.token_hex(4)}",
                "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
                "LOG_LEVEL": log_level.upper(),
            }
            os.environ.update(env)
            import django

            django.setup()
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            stack = cls(wallet=wallet, tmp=tmp, processes=Group({**os.environ, **env}, tmp))
            stack.people()
            exits.callback(stack.purge_queue)
            exits.enter_context(stack.processes)
            if workers:
                stack.start_workers(workers, threads, log_level)
            yield stack
            if os.environ.get("BENCH_KEEP_LOG"):
                Path(os.environ["BENCH_KEEP_LOG"]).write_bytes((tmp / "worker.log").read_bytes())

    def people(self) -> None:
        """The funder and the provider, with their wallets resolved on the local wallet."""
        from django.contrib.auth.models import User

        from jobs.models import Profile

        for name, funder in (("fiona", True), ("pavel", False)):
            user = User.objects.create_user(username=name, password="a-long-bench-password-42")  # noqa: S106 - a bench user
            url = self.wallet.wallet_url(name)
            Profile.objects.create(
                user=user, is_funder=funder, is_provider=not funder, wallet_address=url, wallet_id=url,
                asset_code="USD", asset_scale=2,
            )  # fmt: skip
            setattr(self, "funder" if funder else "provider", user)

    def start_workers(self, count: int, threads: int, log_level: str) -> None:
        """`count` worker processes on the stack's queue: one prefork `celery worker` with `count`
        children, or with `threads`, `count` thread-pool workers of `threads` threads each (their CPU
        summed by `worker_cpu`); waits for a ping."""
        queue = self.env["CELERY_QUEUE"]
        if not threads:
            self.workers = [self.processes.worker(queue, concurrency=count, log_level=log_level)]
            say(f"{count} worker process(es) up")
            return
        self.workers = [
            self.processes.worker(
                queue, name=f"worker{n or ''}", concurrency=threads, pool="threads", log_level=log_level
            )
            for n in range(count)
        ]
        say(f"{count} worker process(es) of {threads} threads up")

    def start_web(self) -> str:
        """The web process (gunicorn, as `make demo` and compose run it) on a free port; its base URL once
        it answers."""
        port = free_port()
        self.processes.web("127.0.0.1", port)
        return f"http://127.0.0.1:{port}"

    def worker_cpu(self) -> float:
        """CPU seconds used so far by the worker processes (their children included)."""
        return sum(cpu_seconds(worker.pid) for worker in self.workers)

    def purge_queue(self) -> None:
        delete_queue(self.env["CELERY_BROKER_URL"], self.env["CELERY_QUEUE"])

    def jobs(self, count: int) -> list[tuple[int, int]]:
        """`count` jobs by the funder, each with one quote by the provider."""
        from jobs.models import Job, Quote

        jobs = Job.objects.bulk_create(
            Job(funder=self.funder, title=f"Bench job {i}", description="A benchmark job.")
            for i in range(count)
        )
        quotes = Quote.objects.bulk_create(
            Quote(job=job, provider=self.provider, amount_value=AMOUNT, asset_code="USD", asset_scale=2)
            for job in jobs
        )
        return [(job.pk, quote.pk) for job, quote in zip(jobs, quotes, strict=True)]

    def approve(self, job_id: int, quote_id: int) -> tuple[str, float]:
        """What the approve view does: the service in a transaction, the link task sent on commit.
        Returns the attempt id and the wall-clock time of the commit."""
        from django.db import transaction

        from jobs.services import job_quote_approve
        from worker import tasks

        with transaction.atomic():
            approval = job_quote_approve(job_id=job_id, quote_id=quote_id, funder=self.funder)
            committed = 0.0

            def send() -> None:
                nonlocal committed
                committed = time.time()
                tasks.generate_link.delay(str(approval.attempt.pk))

            transaction.on_commit(send)
        return str(approval.attempt.pk), committed

    def approve_burst(self, jobs: Sequence[tuple[int, int]]) -> tuple[list[str], float]:
        """Approves every quote (attempts created first), then enqueues all their link tasks at once;
        returns the attempt ids and the wall-clock time the first task was sent."""
        from django.db import transaction

        from jobs.services import job_quote_approve
        from worker import tasks

        ids = []
        with transaction.atomic():
            for job_id, quote_id in jobs:
                ids.append(
                    str(job_quote_approve(job_id=job_id, quote_id=quote_id, funder=self.funder).attempt.pk)
                )
        started = time.time()
        for attempt_id in ids:
            tasks.generate_link.delay(attempt_id)
        return ids, started

    def wait_for_links(self, ids: Sequence[str], timeout: float) -> dict[str, datetime]:
        """Waits until every attempt has left `generating`; {attempt id: link_ready_at}. Stops the run
        (exit 1) on a failed attempt or after `timeout` seconds. It asks only about the attempts still
        pending, a few times a second: the figures come from `link_ready_at`, so looking more often would
        only take CPU from the stack being measured."""
        from jobs.models import AttemptStatus, PaymentAttempt

        deadline = time.monotonic() + timeout
        pending = set(ids)
        ready: dict[str, datetime] = {}
        while True:
            rows = PaymentAttempt.objects.filter(pk__in=pending).exclude(status=AttemptStatus.GENERATING)
            for pk, status, at, error in rows.values_list("pk", "status", "link_ready_at", "error"):
                if status != "awaiting_authorization":
                    raise SystemExit(f"attempt {pk} failed: {error!r}")
                ready[str(pk)] = at
                pending.discard(str(pk))
            if not pending:
                return ready
            if time.monotonic() > deadline:
                log = (self.tmp / "worker.log").read_text()[-3000:]
                raise SystemExit(
                    f"only {len(ready)} of {len(ids)} links after {timeout}s; worker log:\n{log}"
                )
            time.sleep(0.25)

    def burst(self, jobs: int) -> dict[str, float]:
        """`jobs` approvals enqueued at once on the warm stack, until every link is stored: links per
        second, wallet requests per link and worker CPU milliseconds per link."""
        pairs = self.jobs(jobs)
        self.wallet.stats(reset=True)
        cpu_before = self.worker_cpu()
        ids, started = self.approve_burst(pairs)
        ready = self.wait_for_links(ids, timeout=max(120.0, jobs / 5))
        cpu = self.worker_cpu() - cpu_before
        stats = self.wallet.stats()
        elapsed = max(moment.timestamp() for moment in ready.values()) - started
        say(f"{jobs} links in {elapsed:.2f}s; wallet requests: {stats['routes']}")
        return {
            "links_per_s": round(jobs / elapsed, 1),
            "http_calls_per_link": round(stats["requests"] / jobs, 2),
            "cpu_ms_per_link": round(cpu * 1000 / jobs, 2),
        }

    def warm_up(self, count: int) -> None:
        """A few links first, so every worker process holds its connections, cached wallet addresses and
        grant tokens, as it does in a running marketplace."""
        ids, _ = self.approve_burst(self.jobs(count))
        self.wait_for_links(ids, timeout=120)

    def steady(self, rate: float, seconds: float) -> list[float]:
        """Approvals arriving one every 1/`rate` seconds for `seconds` (open loop: the schedule does not
        wait for the links), each as the approve view makes it; the milliseconds from each one's commit
        to its stored link."""
        count = max(20, int(rate * seconds))
        pairs = self.jobs(count)
        time.sleep(1.0)  # the tasks before are acknowledged
        committed: dict[str, float] = {}
        start = time.monotonic()
        for n, (job_id, quote_id) in enumerate(pairs):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            attempt_id, at = self.approve(job_id, quote_id)
            committed[attempt_id] = at
        late = time.monotonic() - start - (count - 1) / rate
        ready = self.wait_for_links(list(committed), timeout=120)
        waits = [(ready[pk].timestamp() - at) * 1000 for pk, at in committed.items()]
        say(
            f"{count} approvals at {rate:.1f}/s (schedule {late * 1000:.0f} ms late at the end); "
            f"mean {statistics.fmean(waits):.1f} ms, max {max(waits):.1f} ms"
        )
        return waits
