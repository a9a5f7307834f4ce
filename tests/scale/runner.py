"""The scale scenario: worker groups on separate "machines" pay a burst of jobs, one group is SIGKILLed
midway, and the wallet's ledger is audited against the database.

Run it with `make scale` or `python -m tests.scale [--short] [--groups G] [--jobs N] ...`. The machines
are Linux network namespaces on a bridge (`tests.scale.network`): one runs the services (PostgreSQL, a
server of the scenario's own; Redis; the local wallet, answering every request after
`--wallet-latency-ms`), and each group is a machine of `--workers` worker processes of `--threads`
threads, every frame between it and the services `--delay-ms` late each way. This process is the web
tier: the fixture, the driver (approvals through the JSON API, consent at the wallet, the finish callback)
and the audit are the chaos suite's.

The workers wait until every job is approved, then all start on the backlog at once. Once half the jobs
have their payment link, every worker process of group m2 is SIGKILLed; the other groups finish what it
held (the broker delivers its tasks again, the reconciler re-drives the rest).

Each group's workers connect to PostgreSQL under the group's name (`PGAPPNAME`), and a trigger of the
scenario's database records which connection made each link (the move to `awaiting_authorization`) and
each payment (the move to `succeeded`), in the same transaction: per group, `links`, `paid`, and
`links_per_s`, the links it made from the start of the burst to the kill, per second of that time.

One JSON line on stdout: `{"scenario": "scale", "groups", "delay_ms", "wallet_latency_ms", "jobs",
"paid", "duplicates", "lost", "killed_group", "per_group": [{"group", "workers", "threads", "links",
"links_per_s", "paid"}, ...], "final_within_s"}`; exit code 1 when a payment was doubled or lost.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from marketplace.processes import Group, Process, database, free_port, kill, local_wallet, wait_until
from tests.chaos.runner import Redis, Run, Scenario, audit, drive, make_people_and_jobs, setup_django
from tests.scale.network import Network, machines

KILLED = "m2"
# Who made each link and each payment: the name the connection gave PostgreSQL, in the same transaction.
RECORD_STEPS = """
CREATE TABLE scale_step (attempt_id uuid, status text, machine text, at timestamptz);
CREATE FUNCTION scale_step() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scale_step
    VALUES (NEW.id, NEW.status, current_setting('application_name'), clock_timestamp());
    RETURN NEW;
END $$;
CREATE TRIGGER scale_step AFTER UPDATE OF status ON jobs_paymentattempt FOR EACH ROW
    WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('awaiting_authorization', 'succeeded'))
    EXECUTE FUNCTION scale_step();
"""


@dataclass
class Options:
    groups: int
    workers: int
    threads: int
    jobs: int
    delay_ms: int
    wallet_latency_ms: int
    timeout: float
    keep: bool


class BridgeRedis(Redis):
    """The chaos suite's Redis, listening on `host`."""

    def __init__(self, workdir: Path, host: str) -> None:
        super().__init__(workdir)
        self.host = host
        self.url = f"redis://{host}:{self.port}/0"

    def start(self) -> None:
        self.process = self.group.redis(self.port, folder=self.group.log_dir, host=self.host)


def postgres(services: Group, folder: Path, host: str) -> str:
    """A PostgreSQL server of its own on `host`, trusting every machine; its server URL."""
    port = free_port()
    services.postgres(folder, port, host=host)
    return f"postgres://postgres@{host}:{port}"


def start_groups(run: Run, network: Network, options: Options) -> dict[str, list[Process]]:
    """Every group's worker processes, each group on its machine and named after it at the database; once
    all of them answer, not consuming yet (`burst` lets them go)."""
    from marketplace.celery import app

    groups = {
        name: [
            run.processes.worker(
                run.queue,
                name=f"{name}-w{n}",
                concurrency=options.threads,
                pool="threads",
                log_level="warning",
                env=run.process_env(PGAPPNAME=name, CELERY_TASK_EVENTS="false"),
                wait=False,
                prefix=network.prefix(name),
            )
            for n in range(options.workers)
        ]
        for name in network.names
    }
    everyone = options.groups * options.workers
    wait_until(lambda: len(app.control.ping(timeout=0.5) or []) >= everyone, "every worker", timeout=120)
    stopped = app.control.cancel_consumer(run.queue, reply=True, timeout=5, limit=everyone) or []
    assert len(stopped) == everyone, stopped
    return groups


def links_made() -> int:
    """How many payment links the workers have made so far."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM scale_step WHERE status = 'awaiting_authorization'")
        (count,) = cursor.fetchone() or (0,)
        return int(count)


def attempts_made(job_ids: list[int]) -> int:
    """How many of the jobs have an attempt (were approved)."""
    from jobs.models import PaymentAttempt

    return PaymentAttempt.objects.filter(job_id__in=job_ids).values("job_id").distinct().count()


def burst(run: Run, groups: dict[str, list[Process]], job_ids: list[int], marks: dict[str, datetime]) -> None:
    """Once every job is approved, lets every worker consume at once (`started`); once half the jobs have
    their link, SIGKILLs the worker processes of group KILLED (`killed`)."""
    from django.db import connection

    from marketplace.celery import app

    everyone = sum(len(workers) for workers in groups.values())
    try:
        while attempts_made(job_ids) < len(job_ids):
            if run.stopping.wait(0.2):
                return
        marks["started"] = datetime.now(UTC)
        going = app.control.add_consumer(
            run.queue, exchange=run.queue, routing_key=run.queue, reply=True, timeout=5, limit=everyone
        )
        assert len(going or []) == everyone, going
        while links_made() * 2 < len(job_ids):
            if run.stopping.wait(0.1):
                return
        for process in groups[KILLED]:
            kill(process)
        marks["killed"] = datetime.now(UTC)
    finally:
        connection.close()


def per_group(options: Options, marks: dict[str, datetime]) -> list[dict[str, Any]]:
    """Per group: its links, its links per second from the start of the burst to the kill (to the last
    link when there was none), and its payments."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT max(at) FROM scale_step WHERE status = 'awaiting_authorization'")
        (last,) = cursor.fetchone() or (None,)
        until = marks.get("killed") or last
        cursor.execute(
            "SELECT machine, count(*) FILTER (WHERE status = 'awaiting_authorization'),"
            " count(*) FILTER (WHERE status = 'awaiting_authorization' AND at <= %s),"
            " count(*) FILTER (WHERE status = 'succeeded') FROM scale_step GROUP BY machine",
            [until],
        )
        counts = {machine: (links, early, paid) for machine, links, early, paid in cursor.fetchall()}
    seconds = (until - marks["started"]).total_seconds() if until and "started" in marks else 0.0
    lines = []
    for name in names(options):
        links, early, paid = counts.get(name, (0, 0, 0))
        rate = round(early / seconds, 1) if seconds > 0 else 0.0
        lines.append(
            {
                "group": name,
                "workers": options.workers,
                "threads": options.threads,
                "links": links,
                "links_per_s": rate,
                "paid": paid,
            }
        )
    return lines


def names(options: Options) -> list[str]:
    """The machines' names: m1, m2, …"""
    return [f"m{number}" for number in range(1, options.groups + 1)]


@dataclass
class Services:
    """What the services machine runs: PostgreSQL's server URL, Redis and the local wallet."""

    server: str
    redis: BridgeRedis
    wallet: Any
    op_env: dict[str, str]


def start_services(stack: ExitStack, network: Network, base: Path) -> Services:
    """PostgreSQL, Redis and the local wallet on the services machine, stopped when `stack` closes."""
    with network.on_services():
        server = postgres(stack.enter_context(Group(dict(os.environ), base)), base / "postgres", network.host)
        redis = BridgeRedis(base, network.host)
        stack.callback(redis.group.stop)
        redis.start()
        wallet, _, op_env = stack.enter_context(
            local_wallet(base, host=network.host, auto_consent="accept", wait=0, settle_delay=0.05)
        )
    return Services(server, redis, wallet, op_env)


def migrate(url: str, redis_url: str, host: str) -> None:
    """Django set up on the scenario's database and broker (reaching the wallet at `host`), the database
    migrated and recording who makes each link and payment."""
    # The marketplace reaches the wallet on the services machine's address, over plain http.
    os.environ.update({"OP_PRIVATE_HOSTS": host, "OP_HTTP_HOSTS": host})
    setup_django(url, redis_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(RECORD_STEPS)


def run_scale(options: Options, base: Path) -> dict[str, Any]:
    """The whole scenario on machines of its own; its JSON line."""
    with ExitStack() as stack:
        network = stack.enter_context(machines(names(options), delay_ms=options.delay_ms, log_dir=base))
        services = start_services(stack, network, base)
        url = stack.enter_context(database(services.server, prefix="scale"))
        migrate(url, services.redis.url, network.host)
        from marketplace.celery import app

        scenario = Scenario(
            "scale",
            jobs=options.jobs,
            workers=options.groups * options.workers,
            concurrency=options.threads,
            timeout=options.timeout,
        )
        run = Run(scenario, services.redis, url, base)
        app.conf.task_default_queue = run.queue
        run.env = {**services.op_env, "OP_PRIVATE_HOSTS": network.host, "OP_HTTP_HOSTS": network.host}
        run.env["PUBLIC_BASE_URL"] = "http://testserver"
        run.processes.env = run.process_env()
        stack.callback(run.processes.stop)
        if options.wallet_latency_ms:
            services.wallet.faults({"routes": {"*": {"latencyMs": options.wallet_latency_ms}}})
        fixture = make_people_and_jobs(run, services.wallet)
        groups = start_groups(run, network, options)
        with network.on_services():
            run.processes.beat(base / "beat.schedule", log_level="warning")
        marks: dict[str, datetime] = {}
        job_ids = [job_id for job_id, _, _ in fixture.jobs]
        chaos = threading.Thread(target=burst, args=(run, groups, job_ids, marks), daemon=True)
        chaos.start()
        seconds = drive(run, fixture)
        chaos.join()
        run.processes.stop()
        result = audit(run, fixture, services.wallet)
        lines = per_group(options, marks)
    final = None if seconds != seconds else round(seconds, 1)
    return {
        "scenario": "scale",
        "groups": options.groups,
        "delay_ms": options.delay_ms,
        "wallet_latency_ms": options.wallet_latency_ms,
        "jobs": options.jobs,
        "paid": result["paid"],
        "duplicates": result["duplicates"],
        "lost": result["lost"] if final is not None else max(1, result["lost"]),
        "killed_group": KILLED if "killed" in marks else None,
        "per_group": lines,
        "final_within_s": final,
    }


def parse(argv: list[str] | None) -> Options:
    """The command line, with `--short`'s small sizes as defaults."""
    parser = argparse.ArgumentParser(prog="python -m tests.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="small N (what `make test` runs)")
    parser.add_argument("--groups", type=int, default=3, help="machines, at least 2 (default 3)")
    parser.add_argument("--workers", type=int, help="worker processes per machine (default 2, short 1)")
    parser.add_argument("--threads", type=int, help="threads per worker process (default 8, short 4)")
    parser.add_argument("--jobs", type=int, help="jobs to pay (default 600, short 30)")
    parser.add_argument("--delay-ms", type=int, default=5, help="delay each way on each machine's link")
    parser.add_argument("--wallet-latency-ms", type=int, default=20, help="the wallet's delay per request")
    parser.add_argument("--keep", action="store_true", help="keep the logs directory")
    args = parser.parse_args(argv)
    if args.groups < 2:
        parser.error("--groups must be at least 2: one of them is killed")
    short = args.short
    return Options(
        groups=args.groups,
        workers=args.workers or (1 if short else 2),
        threads=args.threads or (4 if short else 8),
        jobs=args.jobs or (30 if short else 600),
        delay_ms=args.delay_ms,
        wallet_latency_ms=args.wallet_latency_ms,
        timeout=240 if short else 600,
        keep=args.keep,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    base = Path(tempfile.mkdtemp(prefix="scale-"))
    # The processes' own logs are under `base`; this process's log lines go there too, the JSON line stays
    # alone on stdout.
    terminal = os.fdopen(os.dup(2), "w")
    os.dup2(os.open(base / "runner.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND), 2)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    failed = True
    try:
        line = run_scale(options, base)
        print(json.dumps(line), flush=True)
        failed = bool(line["duplicates"] or line["lost"])
    except BaseException:
        import traceback

        traceback.print_exc(file=terminal)
        raise
    finally:
        if options.keep or failed:
            print(f"logs: {base}", file=terminal, flush=True)
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
