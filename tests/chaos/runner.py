"""The chaos suite: many payments on the real stack under a fault, then an audit of the wallet's ledger.

Run it with `make chaos` (every scenario, full size) or `python -m tests.chaos [--short] [SCENARIO ...]`.
Each scenario runs in a process of its own, Django set up there on its own database and broker, with a
fresh local wallet (a subprocess, its admin API on), real `celery worker` and `celery beat` processes and
servers of its own on free ports, so restarting one disturbs nobody: a Redis as broker
(`redis-server --save "" --appendonly no`) or, for `rabbitmq_restart`, a RabbitMQ node; a database it
creates and drops on the machine's PostgreSQL or, for `postgres_restart`, on a PostgreSQL server of its
own. Approvals go through the JSON API (the Django request stack, in threads, with API tokens), consent
through the wallet's auto-accepting consent page, and the finish callback through our view; a request
answered 503 with Retry-After is made again after that wait, as a funder would.

After every attempt is final the audit compares the wallet with our database, per job:
at most one succeeded attempt, at most one outgoing payment that moved money, at most one incoming payment
that received money, no attempt left working, money moved exactly for the jobs we call paid, and the sum
debited from the funders equals the sum of the succeeded attempts' debit amounts. The `refunds` scenario
refunds the paid jobs next, and the audit also holds, per refund: at most one succeeded attempt, at most
one outgoing payment at the provider's wallet that moved money (matched by its `idempotencyId`) and one
incoming payment at the funder's that received money (by its `attemptId`), money moved exactly for the
refunds we call refunded, what left the providers equal to the succeeded refund attempts' debits; and per
job, never more refunded (in the funder's wallet or in our books) than was paid. In the `budgets`
scenario each funder first sets a budget (through the pipeline, consenting on the wallet's page) that fits
about half of their quotes, and the audit also holds, per funder: what the budget paid never above its
amount, in our books and in the wallet's (its payments under the budget's grant), exactly the same
payments on both sides (else counted lost), and as many paid from it as fit; the rest fell back to the
link, each with its reason. One JSON line per scenario: `{"scenario", "jobs", "paid", "duplicates",
"lost", "final_within_s", "leaks", "http_5xx", "http_503_during_outage", ...}` (with `refunds`,
`refunded`, `refunded_total`, `over_refunded_jobs`… for refunds; `paid_from_budget`, `fallbacks`,
`over_limit_funders`… for budgets): a 503 with Retry-After to a request made while the scenario had its
database down is expected, and counted apart; any other 5xx is a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from unittest import mock
from urllib.parse import urlsplit

from marketplace.processes import (
    PYTHON,
    ROOT,
    Group,
    Process,
    database,
    free_port,
    kill,
    local_wallet,
)

if TYPE_CHECKING:
    from django.http import HttpResponse

T = TypeVar("T")

FUNDERS = 10
PROVIDERS = 10
FINAL = {"succeeded", "failed", "declined", "expired", "cancelled"}
# Failpoints the kill scenario crashes workers at (every one before/after an Open Payments call).
KILL_POINTS = (
    "incoming_payment.before_create",
    "incoming_payment.created",
    "quote.created",
    "grant.before_create",
    "grant.created",
    "grant.before_continue",
    "grant.continued",
    "outgoing_payment.before_create",
    "outgoing_payment.created",
    "poll.before",
)
# Those on the way of a payment a budget pays (no grant of its own).
BUDGET_KILL_POINTS = (
    "incoming_payment.created",
    "quote.created",
    "outgoing_payment.before_create",
    "outgoing_payment.created",
    "poll.before",
)
# Short limits so what a killed worker held comes back within the scenario.
FAST_RECOVERY = {
    "CELERY_VISIBILITY_TIMEOUT": "8",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
    "CELERY_TASK_SOFT_TIME_LIMIT": "5",
    "CELERY_TASK_TIME_LIMIT": "6",
    "PAYMENT_LEASE_SECONDS": "7",
    "PAYMENT_STALE_SECONDS": "6",
    "PAYMENT_POLL_MAX_INTERVAL": "2",
    "RECONCILE_EVERY_SECONDS": "2",
}
# How long a restarted server stays down before it is started again.
DOWN_SECONDS = 3
# How many times a request answered 503 with Retry-After is made again.
RETRIES = 20


@dataclass
class Scenario:
    name: str
    jobs: int
    workers: int = 2
    concurrency: int = 3
    # Seconds over which the approvals are spread (0: all at once).
    spread: float = 0.0
    timeout: float = 300.0
    faults: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    # Run during the scenario, in a thread, with the live run.
    chaos: Callable[[Run], None] | None = None
    kill_rounds: int = 0
    # The failpoints `kill_workers` crashes workers at.
    kill_points: tuple[str, ...] = ()
    # The server `restart` stops and starts again; with "postgres" the database is on a PostgreSQL server
    # of the scenario's own, with "rabbitmq" the broker is a RabbitMQ node of its own.
    restarts: Literal["redis", "postgres", "rabbitmq"] | None = None
    # Once every job is paid, refunds on them in a burst (the chaos then plays on the refunds).
    refunds: bool = False
    # How many funders share the jobs.
    funders: int = FUNDERS
    # Every funder sets a monthly budget first, which fits about half of their quotes (BUDGET_QUOTE each).
    budgets: bool = False


def setup_django(database_url: str, broker_url: str, queue: str | None = None) -> None:
    """Django and the Celery app of this process set up on the database and the broker (publishing to
    `queue` when given: on RabbitMQ the settings declare that queue, a quorum queue)."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "DEBUG": "1",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "LOG_LEVEL": "WARNING",
            # The web layer's publishes are the first messages of each payment.
            "PIPELINE_DUPLICATE_DELIVERY": os.environ.get("PIPELINE_DUPLICATE_DELIVERY", ""),
            **({"CELERY_QUEUE": queue} if queue else {}),
        }
    )
    import django

    # This process answers requests as the web process does, never from a pool (marketplace/gunicorn.py):
    # with the database away a request fails at once. The workers it starts keep their pools.
    with mock.patch.dict(os.environ, {"DATABASE_POOL_SIZE": "0"}):
        django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # Errors answered as the web process answers them in production (handler500: 503 with Retry-After
    # while the database is away), not with Django's debug page.
    settings.DEBUG = False


class Server:
    """A server of the scenario's own on a free port, its files and its log in `folder`: `start()` returns
    once it serves, `stop()` is what an operator restarting it does, `close()` ends it for good."""

    url: str
    process: Process

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.group = Group(dict(os.environ), folder)
        self.port = free_port()

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.group.stop()


class Redis(Server):
    """A redis-server without persistence: a restart loses everything."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = self.group.redis(self.port, folder=self.group.log_dir)

    def stop(self) -> None:
        """SIGKILL: every queued and unacknowledged message is gone."""
        kill(self.process)


class Postgres(Server):
    """A PostgreSQL server, its cluster kept in `folder` across restarts; `url` names no database."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = self.group.postgres(self.folder / "postgres", self.port)

    def stop(self) -> None:
        """A fast shutdown (SIGINT to the postmaster): every session is ended, the cluster left clean."""
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=60)


class RabbitMQ(Server):
    """A RabbitMQ node, its queues and messages kept in `folder` across restarts."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self) -> None:
        self.process = self.group.rabbitmq(self.folder / "rabbitmq", self.port)

    def stop(self) -> None:
        """`rabbitmqctl stop`: the node shuts down cleanly, its queues and messages on disk."""
        stop = ["rabbitmqctl", "-n", f"node{self.port}@localhost", "stop"]
        subprocess.run(stop, check=True, capture_output=True, timeout=60)
        self.process.wait(timeout=60)


# --- one run --------------------------------------------------------------------------------------


class Run:
    """One scenario's live stack and its bookkeeping: its broker, its database, and `database_server` when
    that database is on a server of the scenario's own."""

    def __init__(
        self,
        scenario: Scenario,
        broker: Server,
        database_url: str,
        workdir: Path,
        database_server: Server | None = None,
    ) -> None:
        self.scenario = scenario
        self.broker = broker
        self.database_url = database_url
        self.database_server = database_server
        self.workdir = workdir
        self.queue = f"chaos-{scenario.name}-{uuid.uuid4().hex[:6]}"
        self.lock = threading.Lock()
        self.processes = Group({}, workdir)
        self.workers: list[Process] = []
        self.stopping = threading.Event()
        self.counts: Counter[str] = Counter()
        # 503s with Retry-After to requests made while a server was down (expected, not failures).
        self.unavailable = 0
        # When each restart had its server away: from its stop until it served again (inf meanwhile).
        self.outages: list[list[float]] = []
        self.wallet: Any = None
        self.env: dict[str, str] = {}
        # Set when the refunds begin (after the payments), for chaos aimed at them.
        self.refunding = threading.Event()

    def answered(self, what: str, response: HttpResponse, since: float) -> None:
        """Counts the answer to the request `what` made at `since` (time.monotonic())."""
        now = time.monotonic()
        with self.lock:
            self.counts[f"{what}_{response.status_code}"] += 1
            if (
                response.status_code == 503
                and response.has_header("Retry-After")
                and any(start <= now and since <= end for start, end in self.outages)
            ):
                self.unavailable += 1

    # processes

    def process_env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "DEBUG": "1",
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": self.broker.url,
            "CELERY_QUEUE": self.queue,
            # Task events on, as while Flower runs: the audit reads task arguments as Flower shows them.
            "CELERY_TASK_EVENTS": "true",
            **FAST_RECOVERY,
            **self.env,
            **self.scenario.env,
            **extra,
        }

    def start_worker(self, slot: int, **extra: str) -> Process:
        return self.processes.worker(
            self.queue,
            name=f"worker-{slot}",
            concurrency=self.scenario.concurrency,
            log_level="warning",
            env=self.process_env(**extra),
            wait=False,
        )


@dataclass
class Fixture:
    jobs: list[tuple[int, int, str]]  # job id, quote id, funder's API key
    funders: list[str]
    providers: list[str]
    balance: int
    # Each funder's budget (its amount, and funder name → budget id), in the `budgets` scenario.
    budget: int = 0
    budgets: dict[str, str] = field(default_factory=dict)


def make_people_and_jobs(run: Run, wallet: Any) -> Fixture:
    """Funders and providers on the local wallet; `jobs` jobs each with one quote (BUDGET_QUOTE each when
    the funders set budgets, else a random amount)."""
    from django.contrib.auth.models import User

    from jobs.models import Job, Profile, Quote
    from jobs.services import api_token_create

    tag = uuid.uuid4().hex[:6]
    count, funders_count = run.scenario.jobs, run.scenario.funders
    per_funder = -(-count // funders_count)
    balance = per_funder * 1000 * 3 + 10_000
    funders, providers, keys, users = [], [], {}, {}
    for role, names in (("f", funders), ("p", providers)):
        for n in range(funders_count if role == "f" else PROVIDERS):
            name = f"{role}{n}{tag}"
            wallet.create_wallet(
                name, asset_code="USD", asset_scale=2, public_name=name, balance=balance if role == "f" else 0
            )
            url = wallet.wallet_url(name)
            user = User.objects.create_user(username=name, password="a-long-chaos-password-42")
            Profile.objects.create(
                user=user,
                is_funder=role == "f",
                is_provider=role == "p",
                wallet_address=url,
                wallet_id=url,
                asset_code="USD",
                asset_scale=2,
            )
            names.append(name)
            users[name] = user
            if role == "f":
                keys[name] = api_token_create(user=user, name="chaos").key
    jobs = Job.objects.bulk_create(
        [Job(funder=users[funders[i % funders_count]], title=f"chaos job {i}") for i in range(count)]
    )
    quotes = Quote.objects.bulk_create(
        [
            Quote(
                job=job,
                provider=users[providers[i % PROVIDERS]],
                amount_value=BUDGET_QUOTE if run.scenario.budgets else random.randint(100, 999),
                asset_code="USD",
                asset_scale=2,
            )
            for i, job in enumerate(jobs)
        ]
    )
    return Fixture(
        jobs=[
            (job.pk, quote.pk, keys[funders[i % funders_count]])
            for i, (job, quote) in enumerate(zip(jobs, quotes, strict=True))
        ],
        funders=funders,
        providers=providers,
        balance=balance,
        # Room for half of each funder's quotes and half of another: the rest race for the last of it.
        budget=(per_funder // 2) * BUDGET_QUOTE + BUDGET_QUOTE // 2,
    )


def until_served(run: Run, what: str, request: Callable[[], HttpResponse]) -> HttpResponse:
    """`request()` (one request through the Django stack), made again after its Retry-After while it is
    answered 503 with one, as a funder's script or browser would; every answer counted under `what`."""
    from django.db import close_old_connections

    for _ in range(RETRIES):
        since = time.monotonic()
        response = request()
        # What Django does after each request under a web server, and its test client leaves out: a
        # connection broken by a database restart is dropped, not used again by the next request.
        close_old_connections()
        run.answered(what, response, since)
        if response.status_code != 503 or not response.has_header("Retry-After"):
            break
        time.sleep(int(response["Retry-After"]))
    return response


def approve(run: Run, job_id: int, quote_id: int, key: str) -> None:
    """`POST /api/jobs/<id>/quotes/<quote>/approve` through the Django request stack."""
    from django.db import connection
    from django.test import Client

    # Errors come back as the answers a client gets (handler500), not as exceptions.
    api = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {key}")
    try:
        until_served(run, "approve", lambda: api.post(f"/api/jobs/{job_id}/quotes/{quote_id}/approve"))
    finally:
        connection.close()


def consent_and_return(run: Run, attempt_id: str, payment_url: str, replay: bool) -> bool:
    """Consents at the wallet and follows its redirect to our finish callback; True when it got there."""
    import httpx
    from django.test import Client

    try:
        answer = httpx.get(payment_url, follow_redirects=False, timeout=15)
    except httpx.HTTPError:
        with run.lock:
            run.counts["consent_transport_error"] += 1
        return False
    if answer.status_code not in (302, 303):
        with run.lock:
            run.counts[f"consent_{answer.status_code}"] += 1
        return False
    finish = urlsplit(answer.headers["location"])
    browser = Client(raise_request_exception=False)
    until_served(run, "callback", lambda: browser.get(f"{finish.path}?{finish.query}"))
    if replay:
        until_served(run, "callback_replay", lambda: browser.get(f"{finish.path}?{finish.query}"))
    return True


class Consents:
    """The payers' consents at the wallet, each link followed once in `pool` (again if it did not get back
    to our callback), 10% of the callbacks replayed."""

    def __init__(self, run: Run, pool: ThreadPoolExecutor) -> None:
        self.run = run
        self.pool = pool
        self.consented: set[str] = set()
        self.pending: set[str] = set()

    def give(self, attempt_id: str, url: str) -> None:
        """Consents to the attempt's link unless that is done or under way."""
        with self.run.lock:
            if attempt_id in self.consented:
                return
            self.consented.add(attempt_id)
            self.pending.add(attempt_id)
        self.pool.submit(self.consent, attempt_id, url)

    def consent(self, attempt_id: str, url: str) -> None:
        from django.db import close_old_connections

        run = self.run
        try:
            ok = consent_and_return(run, attempt_id, url, replay=random.random() < 0.1)
        except Exception as exc:  # counted; the attempt is consented again
            ok = False
            with run.lock:
                run.counts[f"consent_exception_{type(exc).__name__}"] += 1
        finally:
            close_old_connections()
        with run.lock:
            self.pending.discard(attempt_id)
            if not ok:
                self.consented.discard(attempt_id)

    @property
    def settled(self) -> bool:
        with self.run.lock:
            return not self.pending


def drive(run: Run, fixture: Fixture) -> float:
    """Approves every job (double clicks and replays included), consents as links appear, re-approves
    jobs whose attempt ended unpaid (a funder trying again), until every attempt is final; the seconds
    that took (NaN if they never were)."""
    from django.db import close_old_connections

    from jobs.models import PaymentAttempt
    from marketplace.errors import DATABASE_AWAY

    scenario = run.scenario
    by_job = {job_id: (quote_id, key) for job_id, quote_id, key in fixture.jobs}
    job_ids = list(by_job)
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=12)
    rounds: Counter[int] = Counter()
    consents = Consents(run, pool)

    def approve_job(job_id: int) -> None:
        quote_id, key = by_job[job_id]
        try:
            clicks = 1 + (random.random() < 0.3) + (random.random() < 0.1)
            if clicks > 1:
                threads = [
                    threading.Thread(target=approve, args=(run, job_id, quote_id, key)) for _ in range(clicks)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            else:
                approve(run, job_id, quote_id, key)
            if random.random() < 0.1:
                approve(run, job_id, quote_id, key)  # a replayed POST
        finally:
            close_old_connections()

    gap = scenario.spread / max(1, len(job_ids))
    futures = []
    for job_id in job_ids:
        rounds[job_id] = 1
        futures.append(pool.submit(approve_job, job_id))
        if gap:
            time.sleep(gap)
    for future in futures:
        future.result()

    deadline = started + scenario.timeout
    final_at = None
    while time.monotonic() < deadline:
        try:
            rows = list(
                PaymentAttempt.objects.filter(job_id__in=job_ids, kind="payment").values_list(
                    "pk", "job_id", "status", "payment_url", "created_at"
                )
            )
        except DATABASE_AWAY:  # the database restarting: look again
            close_old_connections()
            time.sleep(0.5)
            continue
        latest: dict[int, tuple[str, str]] = {}
        for pk, job_id, status, url, _created in sorted(rows, key=lambda r: r[4]):
            latest[job_id] = (status, url)
            if status == "awaiting_authorization" and url:
                consents.give(str(pk), url)
        paid = {job_id for _, job_id, status, _, _ in rows if status == "succeeded"}
        working = [pk for pk, _, status, _, _ in rows if status not in FINAL]
        missing = [job_id for job_id in job_ids if job_id not in latest]
        again = [
            job_id
            for job_id, (status, _) in latest.items()
            if status in FINAL and job_id not in paid and rounds[job_id] < 3
        ]
        for job_id in again:
            rounds[job_id] += 1
            with run.lock:
                run.counts["reapproved"] += 1
            pool.submit(approve_job, job_id)
        if not working and not missing and not again and consents.settled:
            final_at = time.monotonic()
            break
        close_old_connections()
        time.sleep(0.5)
    pool.shutdown(wait=True)
    return final_at - started if final_at else float("nan")


def audit(run: Run, fixture: Fixture, wallet: Any) -> dict[str, Any]:
    """The wallet's ledger against our database."""
    from django.db.models import Count

    from jobs.models import Job, PaymentAttempt

    job_ids = [job_id for job_id, _, _ in fixture.jobs]
    attempts = PaymentAttempt.objects.filter(job_id__in=job_ids, kind="payment")
    succeeded = {a.job_id: a for a in attempts.filter(status="succeeded")}
    more_than_one = (
        attempts.filter(status="succeeded").values("job_id").annotate(n=Count("pk")).filter(n__gt=1)
    )
    working = attempts.exclude(status__in=FINAL).count()
    statuses = Counter(attempts.values_list("status", flat=True))
    errors = Counter(attempts.filter(status="failed").values_list("error", flat=True))

    moved: dict[int, int] = defaultdict(int)  # job → outgoing payments that moved money
    received: dict[int, int] = defaultdict(int)  # job → incoming payments that received money
    debited = 0
    for name in fixture.funders:
        payments = wallet.payments(name)
        # What refunds brought back is not part of what the payments took.
        refunded = sum(int(p["receivedAmount"]["value"]) for p in payments["incomingPayments"])
        debited += fixture.balance - wallet.balance(name) + refunded
        for payment in payments["outgoingPayments"]:
            job = int(str((payment.get("metadata") or {}).get("externalRef", "job-0"))[4:])
            if int(payment["sentAmount"]["value"]) > 0 or payment.get("state") == "COMPLETED":
                moved[job] += 1
    for name in fixture.providers:
        for payment in wallet.payments(name)["incomingPayments"]:
            job = int(str((payment.get("metadata") or {}).get("externalRef", "job-0"))[4:])
            if int(payment["receivedAmount"]["value"]) > 0:
                received[job] += 1
    duplicates = (
        len(more_than_one)
        + sum(1 for n in moved.values() if n > 1)
        + sum(1 for n in received.values() if n > 1)
    )
    paid_without_record = [job for job in moved if job not in succeeded]
    recorded_without_money = [
        job for job in succeeded if moved.get(job, 0) == 0 and received.get(job, 0) == 0
    ]
    expected_debit = sum(int(a.debit_amount or 0) for a in succeeded.values())
    jobs_paid = Job.objects.filter(pk__in=job_ids, status="paid").count()
    lost = working + len(paid_without_record) + len(recorded_without_money) + (debited != expected_debit)
    return {
        "paid": len(succeeded),
        "duplicates": duplicates,
        "lost": lost,
        "jobs_marked_paid": jobs_paid,
        "attempts": dict(sorted(statuses.items())),
        "failed_because": {message[:60]: n for message, n in errors.most_common()},
        "debited": debited,
        "succeeded_sum": expected_debit,
        "paid_without_record": len(paid_without_record),
        "recorded_without_money": len(recorded_without_money),
    }


# --- refunds ---------------------------------------------------------------------------------------

# What each paid job goes through, in turn: asked for in part or in full (twice at once: one is refused),
# offered in part while the rest is asked for, offered in full (then more asked for than is left),
# declined then asked again, cancelled then offered.
REFUND_PLANS = (
    "asked_part",
    "asked_all_twice",
    "offered_part_asked_rest",
    "offered_all",
    "declined_then_asked",
    "cancelled_then_offered",
)
# Lost answers at the wallet while the refunds are paid (each call's effect is kept; its answer is not):
# the first two outgoing payments, then a share of every call that creates or reads something.
REFUND_DROPS = {
    "seed": 5,
    "routes": {
        "outgoing-payments.create": {"dropNext": 2, "dropRate": 0.15},
        "incoming-payments.create": {"dropRate": 0.15},
        "quotes.create": {"dropRate": 0.1},
        "grant.create": {"dropRate": 0.1},
        "grant.continue": {"dropRate": 0.05},
        "incoming-payments.get": {"dropRate": 0.1},
        "outgoing-payments.get": {"dropRate": 0.1},
    },
}


def refund_chaos(run: Run) -> None:
    """Once the refunds begin: lost answers at the wallet, and workers SIGKILLed at every failpoint."""
    while not run.refunding.wait(0.2):
        if run.stopping.is_set():
            return
    run.wallet.faults(REFUND_DROPS)
    kill_workers(run)


class Refunds:
    """The refunds' side of the marketplace, as the funder and the provider of each paid job use it:
    every action counted in `run.counts`, every attempt created sent to the pipeline."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def count(self, what: str) -> None:
        with self.run.lock:
            self.run.counts[what] += 1

    def started(self, approval: Any) -> int:
        """Publishes a new attempt's first step, as the web does; the refund's id."""
        from worker import tasks

        if approval.created:
            tasks.generate_link.delay_on_commit(str(approval.attempt.pk))
        return int(approval.attempt.refund_id)

    def ask(self, job: Any, amount: int | None) -> int | None:
        """The funder asks for `amount` back (None: all that is left); the refund, or None if refused."""
        from jobs import services

        try:
            refund = services.refund_request(job_id=job.pk, funder=job.funder, amount=amount, reason="chaos")
        except services.ActionRefused:
            self.count("refund_ask_refused")
            return None
        self.count("refund_asked")
        return int(refund.pk)

    def offer(self, job: Any, provider: Any, amount: int | None) -> int | None:
        from jobs import services

        try:
            approval = services.refund_offer(job_id=job.pk, provider=provider, amount=amount, reason="chaos")
        except services.ActionRefused:
            self.count("refund_offer_refused")
            return None
        self.count("refund_offered")
        return self.started(approval)

    def agree(self, refund_id: int, provider: Any, clicks: int = 1) -> None:
        """The provider agrees (or asks for a new link), `clicks` times at once."""
        from jobs import services

        def once() -> None:
            try:
                self.started(services.refund_agree(refund_id=refund_id, provider=provider))
                self.count("refund_agreed")
            except services.ActionRefused:
                self.count("refund_agree_refused")

        at_once(*[once] * clicks)

    def play(self, job_id: int, plan: str) -> None:
        """One paid job's refunds, per `plan` (REFUND_PLANS)."""
        from django.db import connection

        from jobs import services
        from jobs.models import Job, PaymentAttempt

        try:
            job = Job.objects.select_related("funder").get(pk=job_id)
            paid = PaymentAttempt.objects.select_related("quote__provider").get(
                job=job, kind="payment", status="succeeded"
            )
            provider, total = paid.quote.provider, int(job.paid_amount or 0)
            part = random.randint(1, total - 1)
            clicks = 1 + (random.random() < 0.3)
            if plan == "asked_part":
                refund = self.ask(job, part)
                if refund:
                    self.agree(refund, provider, clicks)
            elif plan == "asked_all_twice":
                for refund in at_once(lambda: self.ask(job, None), lambda: self.ask(job, None)):
                    if refund:
                        self.agree(refund, provider, clicks)
            elif plan == "offered_part_asked_rest":
                _, rest = at_once(lambda: self.offer(job, provider, part), lambda: self.ask(job, None))
                if rest:
                    self.agree(rest, provider, clicks)
            elif plan == "offered_all":
                self.offer(job, provider, None)
                self.ask(job, 1)
            elif plan == "declined_then_asked":
                refund = self.ask(job, part)
                if refund:
                    services.refund_decline(refund_id=refund, provider=provider, reason="chaos")
                    self.count("refund_declined")
                again = self.ask(job, None)
                if again:
                    self.agree(again, provider, clicks)
            else:
                refund = self.ask(job, None)
                if refund:
                    services.refund_cancel(refund_id=refund, funder=job.funder)
                    self.count("refund_cancelled")
                self.offer(job, provider, part)
        finally:
            connection.close()


def at_once(*calls: Callable[[], T]) -> list[T]:
    """The calls made at the same moment, each in a thread of its own (its own database connection,
    closed after); their results in order."""
    from django.db import connection

    results: list[Any] = [None] * len(calls)

    def one(n: int) -> None:
        try:
            results[n] = calls[n]()
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def drive_refunds(run: Run, fixture: Fixture) -> float:
    """Refunds every paid job in a burst (REFUND_PLANS, double clicks included), consents in the
    providers' wallets as links appear, asks for a new link for agreed refunds whose attempt ended unpaid
    (a provider trying again), until every refund attempt is final; the seconds that took (NaN if they
    never were)."""
    from django.contrib.auth.models import User
    from django.db import close_old_connections

    from jobs.models import Job, PaymentAttempt, Refund

    job_ids = list(
        Job.objects.filter(pk__in=[job_id for job_id, _, _ in fixture.jobs], status="paid")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    refunds = Refunds(run)
    run.refunding.set()
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=12)
    consents = Consents(run, pool)
    plans = [REFUND_PLANS[n % len(REFUND_PLANS)] for n in range(len(job_ids))]
    for future in [
        pool.submit(refunds.play, job_id, plan) for job_id, plan in zip(job_ids, plans, strict=True)
    ]:
        future.result()

    rounds: Counter[int] = Counter()
    agreeing: set[int] = set()
    providers = dict(Refund.objects.filter(job_id__in=job_ids).values_list("pk", "payment__quote__provider"))
    people = User.objects.in_bulk(set(providers.values()))

    def agree_again(refund_id: int) -> None:
        try:
            refunds.agree(refund_id, people[providers[refund_id]])
        finally:
            with run.lock:
                agreeing.discard(refund_id)

    deadline = started + run.scenario.timeout
    final_at = None
    while time.monotonic() < deadline:
        # Before the attempts are read: an agreement done by then has its attempt among them.
        with run.lock:
            in_flight = set(agreeing)
        rows = list(
            PaymentAttempt.objects.filter(job_id__in=job_ids, kind="refund").values_list(
                "pk", "refund_id", "status", "payment_url", "created_at"
            )
        )
        latest: dict[int, str] = {}
        for pk, refund_id, status, url, _created in sorted(rows, key=lambda r: r[4]):
            latest[refund_id] = status
            if status == "awaiting_authorization" and url:
                consents.give(str(pk), url)
        agreed = set(Refund.objects.filter(job_id__in=job_ids, status="agreed").values_list("pk", flat=True))
        working = [pk for pk, _, status, _, _ in rows if status not in FINAL]
        missing = [refund_id for refund_id in agreed if refund_id not in latest]
        again = [
            refund_id
            for refund_id in agreed
            if latest.get(refund_id, "failed") in FINAL
            and rounds[refund_id] < 2
            and refund_id not in in_flight
        ]
        with run.lock:
            agreeing.update(again)
            busy = bool(agreeing)
        for refund_id in again:
            rounds[refund_id] += 1
            refunds.count("refund_agreed_again")
            pool.submit(agree_again, refund_id)
        if not working and not missing and not busy and consents.settled:
            final_at = time.monotonic()
            break
        close_old_connections()
        time.sleep(0.5)
    pool.shutdown(wait=True)
    return final_at - started if final_at else float("nan")


def moved_money(outgoing: dict[str, Any]) -> bool:
    """Whether the wallet's outgoing payment sent anything (or completed)."""
    return int(outgoing["sentAmount"]["value"]) > 0 or outgoing.get("state") == "COMPLETED"


def audit_refunds(fixture: Fixture, wallet: Any) -> dict[str, Any]:
    """The wallet's ledger against our refunds: money left a provider's wallet at most once per refund
    (outgoing payments matched by their `idempotencyId`) and reached the funder's at most once (incoming
    payments matched by their `attemptId`), exactly for the refunds we call refunded; per job, never more
    refunded (in the funder's wallet or in our books) than was paid."""
    from jobs.models import Job, PaymentAttempt, Refund

    job_ids = [job_id for job_id, _, _ in fixture.jobs]
    refunds = {r.pk: r for r in Refund.objects.filter(job_id__in=job_ids)}
    attempts = list(PaymentAttempt.objects.filter(job_id__in=job_ids, kind="refund"))
    by_idempotency = {str(a.idempotency_id): a for a in attempts}
    by_id = {str(a.pk): a for a in attempts}
    succeeded = Counter(a.refund_id for a in attempts if a.status == "succeeded")
    live = Counter(a.refund_id for a in attempts if a.status not in FINAL)

    sent: Counter[int] = Counter()  # refund → outgoing payments at the provider's wallet that moved money
    received: Counter[int] = Counter()  # refund → incoming payments at the funder's wallet that took money
    received_by_job: dict[int, int] = defaultdict(int)
    unrecorded = 0  # money moved by a payment no refund attempt of ours asked for
    paid_to_providers = providers_hold = 0
    for name in fixture.providers:
        payments = wallet.payments(name)
        paid_to_providers += sum(int(p["receivedAmount"]["value"]) for p in payments["incomingPayments"])
        providers_hold += wallet.balance(name)
        for payment in filter(moved_money, payments["outgoingPayments"]):
            attempt = by_idempotency.get(str((payment.get("metadata") or {}).get("idempotencyId")))
            if attempt is None:
                unrecorded += 1
            else:
                sent[attempt.refund_id] += 1
    for name in fixture.funders:
        for payment in wallet.payments(name)["incomingPayments"]:
            value = int(payment["receivedAmount"]["value"])
            attempt = by_id.get(str((payment.get("metadata") or {}).get("attemptId")))
            if value == 0:
                continue
            if attempt is None:
                unrecorded += 1
                continue
            received[attempt.refund_id] += 1
            received_by_job[attempt.job_id] += value

    refunded = [r for r in refunds.values() if r.status == "refunded"]
    paid_without_record = [
        pk for pk, r in refunds.items() if (sent[pk] or received[pk]) and r.status != "refunded"
    ]
    recorded_without_money = [r.pk for r in refunded if not sent[r.pk] and not received[r.pk]]
    # The refund's status and its attempts disagree: refunded without exactly one success, or an attempt
    # still live or succeeded under a refund that was declined or cancelled.
    disagree = [
        pk
        for pk, r in refunds.items()
        if (r.status == "refunded") != (succeeded[pk] == 1)
        or (r.status in ("declined", "cancelled") and (live[pk] or succeeded[pk]))
        or (r.status == "requested")
    ]
    taken_back = paid_to_providers - providers_hold
    expected = sum(int(a.debit_amount or 0) for a in attempts if a.status == "succeeded")

    over_refunded, books_off = 0, 0
    for job in Job.objects.filter(pk__in=job_ids):
        paid = int(job.paid_amount or 0)
        mine = [r for r in refunds.values() if r.job_id == job.pk]
        committed = sum(r.amount_value for r in mine if r.status in ("requested", "agreed", "refunded"))
        settled = sum(r.amount_value for r in mine if r.status == "refunded")
        over_refunded += max(received_by_job[job.pk], job.refunded_amount, job.refunds_committed) > paid
        books_off += (job.refunds_committed, job.refunded_amount) != (committed, settled) or (
            received_by_job[job.pk] != settled
        )
    duplicates = (
        sum(1 for n in succeeded.values() if n > 1)
        + sum(1 for n in sent.values() if n > 1)
        + sum(1 for n in received.values() if n > 1)
        + unrecorded
    )
    lost = (
        sum(live.values())
        + len(paid_without_record)
        + len(recorded_without_money)
        + len(disagree)
        + books_off
        + (taken_back != expected)
    )
    statuses = Counter(r.status for r in refunds.values())
    errors = Counter(a.error for a in attempts if a.status == "failed")
    return {
        "duplicates": duplicates,
        "lost": lost,
        "refunds": len(refunds),
        "refunds_by_status": dict(sorted(statuses.items())),
        "refunded": len(refunded),
        "refunds_unpaid": statuses["agreed"],
        "refunded_total": sum(r.amount_value for r in refunded),
        "refund_received_total": sum(received_by_job.values()),
        "refund_debited": taken_back,
        "refund_succeeded_sum": expected,
        "over_refunded_jobs": over_refunded,
        "refund_attempts": dict(sorted(Counter(a.status for a in attempts).items())),
        "refund_failed_because": {message[:60]: n for message, n in errors.most_common()},
        "refund_outgoing_moved": sum(sent.values()),
        "refund_incoming_received": sum(received.values()),
        "refund_paid_without_record": len(paid_without_record),
        "refund_recorded_without_money": len(recorded_without_money),
        "refund_status_disagrees": len(disagree),
        "refund_books_off_jobs": books_off,
        "refund_unrecorded_payments": unrecorded,
    }


# --- budgets ---------------------------------------------------------------------------------------

# Every quote of the `budgets` scenario: a funder's budget fits a whole number of them and half of another.
BUDGET_QUOTE = 1000
# Lost answers at the wallet while the budgets pay (each call's effect is kept; its answer is not): the
# first two outgoing payments, then a share of every call a budget payment makes.
BUDGET_DROPS = {
    "seed": 7,
    "routes": {
        "outgoing-payments.create": {"dropNext": 2, "dropRate": 0.15},
        "outgoing-payments.list": {"dropRate": 0.1},
        "outgoing-payment-grant.get": {"dropRate": 0.1},
        "incoming-payments.create": {"dropRate": 0.1},
        "quotes.create": {"dropRate": 0.1},
        "outgoing-payments.get": {"dropRate": 0.1},
    },
}


def budget_chaos(run: Run) -> None:
    """Once the budgets are active and the approvals begin: lost answers, and workers SIGKILLed at every
    failpoint."""
    run.wallet.faults(BUDGET_DROPS)
    kill_workers(run)


def set_budgets(run: Run, fixture: Fixture) -> None:
    """Each funder sets a monthly budget of `fixture.budget` through the pipeline: its grant asked by a
    worker, consented to on the wallet's auto-accepting page, the wallet's redirect followed to our finish
    callback (as the funder, logged in), the grant continued by a worker; returns once every one is active."""
    import httpx
    from django.contrib.auth.models import User
    from django.db import close_old_connections
    from django.test import Client

    from jobs import services
    from jobs.models import Budget
    from worker import tasks

    B = Budget.Status
    users = {user.username: user for user in User.objects.filter(username__in=fixture.funders)}

    def reach(budget_id: str, status: str) -> None:
        deadline = time.monotonic() + 60
        while (now := Budget.objects.values_list("status", "end_reason").get(pk=budget_id))[0] != status:
            if now[0] == B.ENDED or time.monotonic() > deadline:
                raise RuntimeError(f"budget {budget_id} is {now}, not {status}")
            close_old_connections()
            time.sleep(0.2)

    for name in fixture.funders:
        budget = services.budget_create(
            funder=users[name], amount=fixture.budget, interval="P1M", per_job_limit=None
        )
        tasks.request_budget_grant.delay(str(budget.pk))
        fixture.budgets[name] = str(budget.pk)
    for name, budget_id in fixture.budgets.items():
        reach(budget_id, B.AWAITING)
        link = Budget.objects.get(pk=budget_id).consent_url
        finish = urlsplit(httpx.get(link, follow_redirects=False, timeout=15).headers["location"])
        browser = Client(raise_request_exception=False)
        browser.force_login(users[name])
        back = partial(browser.get, f"{finish.path}?{finish.query}")
        until_served(run, "budget_callback", back)
    for budget_id in fixture.budgets.values():
        reach(budget_id, B.ACTIVE)


def audit_budgets(fixture: Fixture, wallet: Any) -> dict[str, Any]:
    """The budgets against the wallet: per funder, what the budget paid (attempts paid with its token, no
    fallback) within its amount in our books and in the wallet's (the payments under the budget's grant,
    matched to our attempts by their `idempotencyId`), exactly those payments on both sides, and as many
    paid from it as fit (`budget_short_funders`: fewer did, leaving room unused); the fallbacks' reasons."""
    import re

    from jobs.models import Budget, PaymentAttempt

    job_ids = [job_id for job_id, _, _ in fixture.jobs]
    attempts = list(
        PaymentAttempt.objects.filter(job_id__in=job_ids, kind="payment").select_related("job__funder")
    )
    by_idempotency = {str(a.idempotency_id): a for a in attempts}
    budgets = Budget.objects.in_bulk(list(fixture.budgets.values()))

    def from_budget(attempt: Any) -> bool:
        return attempt.budget_id is not None and not attempt.budget_fallback

    over_limit = wallet_over_limit = short = records_off = 0
    paid_from_budget = 0
    for name, budget_id in fixture.budgets.items():
        budget = budgets[uuid.UUID(budget_id)]
        mine = [
            a
            for a in attempts
            if a.status == "succeeded" and from_budget(a) and str(a.budget_id) == budget_id
        ]
        paid_from_budget += len(mine)
        jobs = len({a.job_id for a in attempts if a.job.funder.username == name})
        over_limit += sum(int(a.debit_amount or 0) for a in mine) > budget.amount_value
        short += len(mine) < min(jobs, budget.amount_value // BUDGET_QUOTE)
        moved = [p for p in wallet.payments(name)["outgoingPayments"] if moved_money(p)]
        ours = {
            p["id"]: by_idempotency.get(str((p.get("metadata") or {}).get("idempotencyId"))) for p in moved
        }
        grants = {p["grantId"] for p in moved if ours[p["id"]] is not None and from_budget(ours[p["id"]])}
        under_budget = [p for p in moved if p["grantId"] in grants]
        wallet_over_limit += sum(int(p["debitAmount"]["value"]) for p in under_budget) > budget.amount_value
        records_off += len(grants) > 1 or sorted(
            str((p.get("metadata") or {}).get("idempotencyId")) for p in under_budget
        ) != sorted(str(a.idempotency_id) for a in mine)
    fell_back = [a for a in attempts if a.budget_fallback]
    reasons = Counter(re.sub(r"\d[\d.,]* [A-Z]{3}", "<amount>", a.budget_fallback) for a in fell_back)
    return {
        "records_off": records_off,
        "budgets": len(budgets),
        "budget_amount": fixture.budget,
        "budgets_by_status": dict(sorted(Counter(b.status for b in budgets.values()).items())),
        "paid_from_budget": paid_from_budget,
        "paid_by_link_after_fallback": sum(1 for a in fell_back if a.status == "succeeded"),
        "fallbacks": len(fell_back),
        "fallback_reasons": dict(reasons.most_common()),
        "over_limit_funders": over_limit,
        "wallet_over_limit_funders": wallet_over_limit,
        "budget_short_funders": short,
        "budget_records_off_funders": records_off,
    }


class TaskEvents:
    """What Flower shows: the arguments of every task event the workers send, captured from the broker."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.seen: list[str] = []
        self.received: Counter[str] = Counter()
        self.thread = threading.Thread(target=self.capture, daemon=True)
        self.thread.start()

    def capture(self) -> None:
        from marketplace.celery import app

        def keep(event: dict[str, Any]) -> None:
            if event.get("type") == "task-received":
                self.received[str(event.get("name", "")).removeprefix("payments.")] += 1
            if event.get("type", "").startswith("task-"):
                self.seen.append(
                    json.dumps({k: event.get(k) for k in ("args", "kwargs", "result", "exception")})
                )

        while not self.run.stopping.is_set():
            with suppress(Exception), app.connection_for_read() as connection:
                receiver = app.events.Receiver(connection, handlers={"*": keep})
                for _ in receiver.itercapture(limit=None, timeout=1.0, wakeup=False):
                    if self.run.stopping.is_set():
                        return
            time.sleep(0.5)


def leaks(run: Run, fixture: Fixture, events: TaskEvents, private_key_pem: bytes) -> int:
    """Occurrences of the attempts' tokens, nonces, interact_refs, finish hashes or our private key in the
    logs of every process, the TaskResult rows and the task events (Flower's view of task arguments)."""
    from django_celery_results.models import TaskResult

    from jobs.models import Budget, PaymentAttempt

    fields = (
        "access_token",
        "continue_token",
        "incoming_token",
        "client_nonce",
        "interact_nonce",
        "interact_ref",
    )
    attempts = PaymentAttempt.objects.filter(job_id__in=[job_id for job_id, _, _ in fixture.jobs])
    secrets = {value for row in attempts.values_list(*fields) for value in row if value and len(value) >= 8}
    budgets = Budget.objects.filter(pk__in=list(fixture.budgets.values()))
    budget_fields = ("access_token", "continue_token", "client_nonce", "interact_nonce", "interact_ref")
    secrets.update(
        value for row in budgets.values_list(*budget_fields) for value in row if value and len(value) >= 8
    )
    key_lines = [line for line in private_key_pem.decode().splitlines() if line and not line.startswith("-")]
    secrets.update(key_lines)
    texts = [
        path.read_text(errors="replace") for path in run.workdir.glob("*.log") if path.name != "wallet.log"
    ]
    texts.append((run.workdir.parent / "runner.log").read_text(errors="replace"))
    texts += [
        json.dumps(row, default=str)
        for row in TaskResult.objects.values("task_args", "task_kwargs", "result", "traceback", "meta")
    ]
    texts += events.seen
    found = sum(text.count(secret) for text in texts for secret in secrets)
    return found + sum(text.count("hash=") + text.count("interact_ref=") for text in texts)


def run_scenario(run: Run) -> dict[str, Any]:
    """The scenario on its live stack (Django already set up on its database and broker); its JSON line."""
    scenario, workdir = run.scenario, run.workdir
    with local_wallet(workdir, auto_consent="accept", wait=0, settle_delay=0.05) as (wallet, client, op_env):
        run.wallet = wallet
        run.env = {**op_env, "PUBLIC_BASE_URL": "http://testserver"}
        run.processes.env = run.process_env()
        fixture = make_people_and_jobs(run, wallet)
        if scenario.faults:
            wallet.faults(scenario.faults)
        run.workers = [run.start_worker(slot) for slot in range(scenario.workers)]
        run.processes.beat(workdir / "beat.schedule", log_level="warning")
        events = TaskEvents(run)
        chaos = threading.Thread(target=scenario.chaos, args=(run,), daemon=True) if scenario.chaos else None
        paying = float("nan")
        try:
            if scenario.budgets:
                set_budgets(run, fixture)
            if chaos:
                chaos.start()
            seconds = drive(run, fixture)
            if scenario.refunds:
                paying, seconds = seconds, drive_refunds(run, fixture)
            run.stopping.set()
            if chaos:
                chaos.join(timeout=60)
            injected = wallet.faults().get("injected", {})
            wallet.clear_faults()
        finally:
            run.stopping.set()
            run.processes.stop()
        result = audit(run, fixture, wallet)
        if scenario.refunds:
            refunds = audit_refunds(fixture, wallet)
            result["duplicates"] += refunds.pop("duplicates")
            result["lost"] += refunds.pop("lost")
            result["payments_final_within_s"] = None if paying != paying else round(paying, 1)
            result.update(refunds)
        if scenario.budgets:
            budgets = audit_budgets(fixture, wallet)
            result["lost"] += budgets.pop("records_off")
            result.update(budgets)
        if scenario.refunds or scenario.budgets:
            result["answers_dropped"] = {
                route: n["drop"] for route, n in sorted(injected.items()) if n["drop"]
            }
        result["leaks"] = leaks(run, fixture, events, client.private_key_pem)
        result["deliveries"] = dict(sorted(events.received.items()))
    answered_5xx = sum(n for key, n in run.counts.items() if key.rsplit("_", 1)[-1].startswith("5"))
    line: dict[str, Any] = {
        "scenario": scenario.name,
        "jobs": scenario.jobs,
        "paid": result.pop("paid"),
        "duplicates": result.pop("duplicates"),
        "lost": result.pop("lost"),
        "final_within_s": None if seconds != seconds else round(seconds, 1),
        "leaks": result.pop("leaks"),
        "http_5xx": answered_5xx - run.unavailable,
        "http_503_during_outage": run.unavailable,
        **result,
        "requests": dict(sorted(run.counts.items())),
    }
    if line["final_within_s"] is None or line.get("payments_final_within_s", 0) is None:
        line["lost"] = max(1, line["lost"])
    return line


# --- the faults -----------------------------------------------------------------------------------


def kill_workers(run: Run) -> None:
    """Arms every worker at every failpoint still owed a crash; a worker that died at one is restarted
    armed at those still owed, until each point has killed a worker `kill_rounds` times; then plain
    workers finish the run."""
    kill_points = run.scenario.kill_points or KILL_POINTS
    owed = Counter({point: run.scenario.kill_rounds for point in kill_points})
    crashes: Counter[str] = Counter()
    markers: dict[int, Path] = {}

    def start(slot: int) -> Process:
        points = [point for point, left in owed.items() if left > 0]
        if not points:
            markers.pop(slot, None)
            return run.start_worker(slot)
        markers[slot] = run.workdir / f"armed-{uuid.uuid4().hex[:8]}"
        return run.start_worker(
            slot, PIPELINE_FAILPOINT=",".join(points), PIPELINE_FAILPOINT_ONCE=str(markers[slot])
        )

    for process in run.workers:
        kill(process)
    for slot in range(len(run.workers)):
        run.workers[slot] = start(slot)
    while not run.stopping.is_set():
        for slot, process in enumerate(run.workers):
            if process.poll() is None:
                continue
            marker = markers.get(slot)
            point = marker.read_text() if marker and marker.exists() else "unexpected_exit"
            crashes[point] += 1
            owed[point] -= 1
            run.workers[slot] = start(slot)
        time.sleep(0.2)
    with run.lock:
        run.counts.update({f"killed_at:{point}": n for point, n in crashes.items()})
        run.counts["kill_points_missed"] = sum(1 for point in kill_points if not crashes[point])


def restart(run: Run) -> None:
    """Stops the server the scenario restarts once a third of the payments are done or links are waiting,
    and starts it again a few seconds later: Redis is SIGKILLed (no persistence: every queued and unacked
    message is gone), PostgreSQL and RabbitMQ are shut down as an operator does (their data kept). From the
    stop until it serves again is an outage."""
    from jobs.models import PaymentAttempt

    server = run.database_server if run.scenario.restarts == "postgres" else run.broker
    assert server is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not run.stopping.is_set():
        done = PaymentAttempt.objects.filter(status__in=["succeeded", "awaiting_authorization"]).count()
        if done >= max(1, run.scenario.jobs // 3):
            break
        time.sleep(0.2)
    outage = [time.monotonic(), float("inf")]
    with run.lock:
        run.outages.append(outage)
    server.stop()
    with run.lock:
        run.counts[f"{run.scenario.restarts}_stopped"] += 1
    time.sleep(DOWN_SECONDS)
    server.start()
    outage[1] = time.monotonic()


def latency_spikes(run: Run) -> None:
    """Every few seconds, 2 s of latency on every route for a couple of seconds, on top of the errors."""
    assert run.scenario.faults is not None
    calm = run.scenario.faults
    spiky = json.loads(json.dumps(calm))
    for route in spiky["routes"].values():
        route["latencyMs"] = 2000
    while not run.stopping.wait(4.0):
        with suppress(Exception):
            run.wallet.faults(spiky)
            with run.lock:
                run.counts["latency_spikes"] += 1
            run.stopping.wait(2.0)
            run.wallet.faults(calm)


UPSTREAM = {
    "seed": 11,
    "routes": {
        name: {"errorRate": 0.3, "errorStatus": 503, "dropRate": 0.1}
        for name in (
            "grant.create",
            "grant.continue",
            "token.*",
            "incoming-payments.*",
            "quotes.*",
            "outgoing-payments.*",
        )
    },
}

SLOW_WALLET = {"routes": {"*": {"latencyMs": 300}}}


def scenarios(short: bool) -> list[Scenario]:
    n = (lambda full, small: small) if short else (lambda full, small: full)
    return [
        # No crash here: production-like redelivery, so a long queue is not mistaken for lost messages.
        Scenario(
            "burst",
            jobs=n(1000, 20),
            workers=n(3, 2),
            concurrency=n(4, 2),
            timeout=n(420, 120),
            env={
                "CELERY_VISIBILITY_TIMEOUT": "300",
                "PAYMENT_STALE_SECONDS": "60",
                "PAYMENT_LEASE_SECONDS": "60",
            },
        ),
        Scenario(
            "worker_sigkill",
            jobs=n(150, 20),
            workers=n(3, 2),
            concurrency=2,
            spread=n(40, 10),
            timeout=n(400, 240),
            chaos=kill_workers,
            kill_rounds=n(3, 1),
        ),
        Scenario(
            "redis_restart",
            jobs=n(200, 20),
            workers=2,
            concurrency=3,
            timeout=n(300, 150),
            chaos=restart,
            restarts="redis",
        ),
        Scenario(
            "upstream_chaos",
            jobs=n(200, 10),
            workers=n(3, 2),
            concurrency=3,
            timeout=n(400, 200),
            faults=UPSTREAM,
            chaos=latency_spikes,
        ),
        Scenario(
            "duplicate_delivery",
            jobs=n(200, 20),
            workers=n(3, 2),
            concurrency=3,
            timeout=n(300, 120),
            env={"PIPELINE_DUPLICATE_DELIVERY": "3"},
        ),
        # Approvals spread, and wallet calls slowed, so that requests are made and steps are running while
        # the server is down.
        Scenario(
            "postgres_restart",
            jobs=n(200, 20),
            workers=2,
            concurrency=3,
            spread=n(40, 15),
            timeout=n(300, 150),
            faults=SLOW_WALLET,
            chaos=restart,
            restarts="postgres",
        ),
        Scenario(
            "rabbitmq_restart",
            jobs=n(200, 20),
            workers=2,
            concurrency=3,
            spread=n(40, 10),
            timeout=n(300, 180),
            faults=SLOW_WALLET,
            chaos=restart,
            restarts="rabbitmq",
        ),
        # Every job paid first (duplicated deliveries only), then refunded in a burst under lost answers,
        # SIGKILLed workers and duplicated deliveries.
        Scenario(
            "refunds",
            jobs=n(120, 16),
            workers=n(3, 2),
            concurrency=n(3, 2),
            timeout=n(400, 180),
            env={"PIPELINE_DUPLICATE_DELIVERY": "3"},
            chaos=refund_chaos,
            kill_rounds=n(3, 1),
            refunds=True,
        ),
        # A few funders, each with a budget fitting about half of their quotes, approve them all at once
        # (double clicks and replays included) under lost answers, SIGKILLed workers and duplicated
        # deliveries: the budget pays as many as fit, the rest fall back to the link (auto-consented).
        Scenario(
            "budgets",
            jobs=n(120, 12),
            funders=n(10, 3),
            workers=2,
            concurrency=n(3, 2),
            timeout=n(400, 150),
            env={"PIPELINE_DUPLICATE_DELIVERY": "3"},
            chaos=budget_chaos,
            kill_rounds=n(2, 1),
            # Small: only the budget payment's own points (the fallbacks' links are the usual pipeline).
            kill_points=n(KILL_POINTS, BUDGET_KILL_POINTS),
            budgets=True,
        ),
    ]


def run_alone(scenario: Scenario, base: Path) -> int:
    """Runs `scenario` in this process on servers of its own (its logs under `base`) and prints its JSON
    line; 1 when it doubled, lost or leaked something or answered a 5xx of its own (or did not finish)."""
    workdir = base / scenario.name
    servers = workdir / "servers"
    servers.mkdir(parents=True, exist_ok=True)
    # The processes' own logs are under `base`; this process's log lines go there too, the JSON line stays
    # alone on stdout.
    terminal = os.fdopen(os.dup(2), "w")
    os.dup2(os.open(base / "runner.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND), 2)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if "PIPELINE_DUPLICATE_DELIVERY" in scenario.env:
        os.environ["PIPELINE_DUPLICATE_DELIVERY"] = scenario.env["PIPELINE_DUPLICATE_DELIVERY"]
    try:
        with ExitStack() as stack:
            broker: Server = RabbitMQ(servers) if scenario.restarts == "rabbitmq" else Redis(servers)
            stack.callback(broker.close)
            broker.start()
            own: Server | None = None
            server = f"postgres://postgres@{os.environ.get('CHAOS_PGHOST', '127.0.0.1')}:5432"
            if scenario.restarts == "postgres":
                own = Postgres(servers)
                stack.callback(own.close)
                own.start()
                server = own.url
            url = stack.enter_context(database(server, prefix="chaos"))
            run = Run(scenario, broker, url, workdir, database_server=own)
            setup_django(url, broker.url, queue=run.queue)
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            line = run_scenario(run)
    except BaseException:
        import traceback

        traceback.print_exc(file=terminal)
        return 1
    print(json.dumps(line), flush=True)
    failed = line["duplicates"] or line["lost"] or line["leaks"] or line["http_5xx"]
    over = (
        line.get("over_refunded_jobs")
        or line.get("over_limit_funders")
        or line.get("wallet_over_limit_funders")
    )
    return 1 if failed or over else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--short", action="store_true", help="small N (what `make test` runs)")
    parser.add_argument("--jobs", type=int, help="override the number of jobs of every scenario")
    parser.add_argument("--keep", action="store_true", help="keep the logs directory")
    # Runs the one scenario named in this process, its logs under the folder given (what main starts).
    parser.add_argument("--alone", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    chosen = [s for s in scenarios(options.short) if not options.names or s.name in options.names]
    if not chosen:
        parser.error("no such scenario")
    for scenario in chosen:
        scenario.jobs = options.jobs or scenario.jobs
    if options.alone:
        return run_alone(chosen[0], options.alone)
    base = Path(tempfile.mkdtemp(prefix="chaos-"))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sizes = ["--short"] if options.short else []
    sizes += ["--jobs", str(options.jobs)] if options.jobs else []
    failed = False
    try:
        for scenario in chosen:
            # A process per scenario: Django and Celery there are set up on its own database and broker.
            alone = [PYTHON, "-m", "tests.chaos", *sizes, "--alone", str(base), scenario.name]
            child = subprocess.Popen(alone, cwd=ROOT, start_new_session=True)
            try:
                failed |= child.wait() != 0
            finally:
                # Stopped itself (SIGTERM, Ctrl-C), this process stops the scenario, which cleans up.
                if child.poll() is None:
                    child.terminate()
                    child.wait()
    except BaseException:
        failed = True
        raise
    finally:
        if not options.keep and not failed:
            import shutil

            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"logs: {base}", file=sys.stderr, flush=True)
    return 1 if failed else 0
