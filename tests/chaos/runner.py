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
debited from the funders equals the sum of the succeeded attempts' debit amounts. One JSON line per
scenario: `{"scenario", "jobs", "paid", "duplicates", "lost", "final_within_s", "leaks", "http_5xx",
"http_503_during_outage", ...}`: a 503 with Retry-After to a request made while the scenario had its
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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
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

FUNDERS = 10
PROVIDERS = 10
FINAL = {"succeeded", "failed", "declined", "expired", "cancelled"}
# Failpoints the kill scenario crashes workers at (every one before/after an Open Payments call).
KILL_POINTS = [
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
]
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
    # The server `restart` stops and starts again; with "postgres" the database is on a PostgreSQL server
    # of the scenario's own, with "rabbitmq" the broker is a RabbitMQ node of its own.
    restarts: Literal["redis", "postgres", "rabbitmq"] | None = None


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


def make_people_and_jobs(run: Run, wallet: Any) -> Fixture:
    """Funders and providers on the local wallet; `jobs` jobs each with one quote."""
    from django.contrib.auth.models import User

    from jobs.models import Job, Profile, Quote
    from jobs.services import api_token_create

    tag = uuid.uuid4().hex[:6]
    count = run.scenario.jobs
    per_funder = -(-count // FUNDERS)
    balance = per_funder * 1000 * 3 + 10_000
    funders, providers, keys, users = [], [], {}, {}
    for role, names in (("f", funders), ("p", providers)):
        for n in range(FUNDERS if role == "f" else PROVIDERS):
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
        [Job(funder=users[funders[i % FUNDERS]], title=f"chaos job {i}") for i in range(count)]
    )
    quotes = Quote.objects.bulk_create(
        [
            Quote(
                job=job,
                provider=users[providers[i % PROVIDERS]],
                amount_value=random.randint(100, 999),
                asset_code="USD",
                asset_scale=2,
            )
            for i, job in enumerate(jobs)
        ]
    )
    return Fixture(
        jobs=[
            (job.pk, quote.pk, keys[funders[i % FUNDERS]])
            for i, (job, quote) in enumerate(zip(jobs, quotes, strict=True))
        ],
        funders=funders,
        providers=providers,
        balance=balance,
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


def drive(run: Run, fixture: Fixture) -> float:
    """Approves every job (double clicks and replays included), consents as links appear, re-approves
    jobs whose attempt ended unpaid (a funder trying again), until every attempt is final; the seconds
    that took."""
    from django.db import close_old_connections

    from jobs.models import PaymentAttempt
    from marketplace.errors import DATABASE_AWAY

    scenario = run.scenario
    by_job = {job_id: (quote_id, key) for job_id, quote_id, key in fixture.jobs}
    job_ids = list(by_job)
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=12)
    rounds: Counter[int] = Counter()
    consented: set[str] = set()
    pending_consent: set[str] = set()

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

    def consent_job(attempt_id: str, url: str) -> None:
        try:
            ok = consent_and_return(run, attempt_id, url, replay=random.random() < 0.1)
        except Exception as exc:  # counted; the attempt is consented again
            ok = False
            with run.lock:
                run.counts[f"consent_exception_{type(exc).__name__}"] += 1
        finally:
            close_old_connections()
        with run.lock:
            pending_consent.discard(attempt_id)
            if not ok:
                consented.discard(attempt_id)

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
                PaymentAttempt.objects.filter(job_id__in=job_ids).values_list(
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
            if status == "awaiting_authorization" and url and str(pk) not in consented:
                with run.lock:
                    consented.add(str(pk))
                    pending_consent.add(str(pk))
                pool.submit(consent_job, str(pk), url)
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
        if not working and not missing and not again and not pending_consent:
            final_at = time.monotonic()
            break
        close_old_connections()
        time.sleep(0.5)
    pool.shutdown(wait=True)
    run.stopping.set()
    return (final_at or time.monotonic()) - started if final_at else float("nan")


def audit(run: Run, fixture: Fixture, wallet: Any) -> dict[str, Any]:
    """The wallet's ledger against our database."""
    from django.db.models import Count

    from jobs.models import Job, PaymentAttempt

    job_ids = [job_id for job_id, _, _ in fixture.jobs]
    attempts = PaymentAttempt.objects.filter(job_id__in=job_ids)
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
        debited += fixture.balance - wallet.balance(name)
        for payment in wallet.payments(name)["outgoingPayments"]:
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

    from jobs.models import PaymentAttempt

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
        try:
            if chaos:
                chaos.start()
            seconds = drive(run, fixture)
            if chaos:
                chaos.join(timeout=60)
            wallet.clear_faults()
        finally:
            run.stopping.set()
            run.processes.stop()
        result = audit(run, fixture, wallet)
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
    if line["final_within_s"] is None:
        line["lost"] = max(1, line["lost"])
    return line


# --- the faults -----------------------------------------------------------------------------------


def kill_workers(run: Run) -> None:
    """Arms every worker at every failpoint still owed a crash; a worker that died at one is restarted
    armed at those still owed, until each point has killed a worker `kill_rounds` times; then plain
    workers finish the run."""
    owed = Counter({point: run.scenario.kill_rounds for point in KILL_POINTS})
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
        run.counts["kill_points_missed"] = sum(1 for point in KILL_POINTS if not crashes[point])


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
    return 1 if line["duplicates"] or line["lost"] or line["leaks"] or line["http_5xx"] else 0


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
