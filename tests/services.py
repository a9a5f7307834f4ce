"""What the tests need from the machine, and how they start real processes.

A test that needs Redis, PostgreSQL, Node or Chromium calls `require(...)`: outside CI it skips with a
message naming what to install or start; under `CI=true` it fails, so a missing service never passes
silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from marketplace import processes
from marketplace.processes import PYTHON as PYTHON
from marketplace.processes import ROOT as ROOT
from marketplace.processes import Process
from marketplace.processes import free_port as free_port
from marketplace.processes import port_open as port_open

IN_CI = os.environ.get("CI", "").lower() == "true"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def require(available: bool, what: str, how: str) -> None:
    """Skips (or, under CI=true, fails) the calling test when `what` is not available."""
    if available:
        return
    message = f"{what} is not available: {how}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_redis() -> str:
    """The Redis URL the tests use, after checking it answers."""
    require(processes.answers(REDIS_URL), f"Redis at {REDIS_URL}", "start redis-server or set REDIS_URL")
    return REDIS_URL


def require_local_postgres() -> None:
    """Checks that PostgreSQL answers at 127.0.0.1:5432 and that `createdb` is installed, for a test whose
    processes make databases of their own there."""
    require(
        shutil.which("createdb") is not None and port_open("127.0.0.1", 5432),
        "PostgreSQL at 127.0.0.1:5432 (with createdb)",
        "start PostgreSQL with trust auth for user postgres",
    )


def require_postgres_server() -> None:
    """Checks that PostgreSQL's server programs (initdb, postgres) are installed, for a test that starts
    a server of its own."""
    try:
        installed = processes.pg_bin("initdb").exists() and processes.pg_bin("postgres").exists()
    except processes.NotReady:
        installed = False
    require(installed, "PostgreSQL's server programs (initdb, postgres)", "install postgresql")


def require_node() -> Path:
    """The node_modules folder holding the official Interledger packages."""
    modules = ROOT / "tests" / "node" / "node_modules"
    require(shutil.which("node") is not None, "Node.js", "install Node 20")
    require((modules / "@interledger").is_dir(), "the npm peers in tests/node", "run `make test`")
    return modules


def database_url(settings_dict: Mapping[str, object]) -> str:
    """A DATABASE_URL for another process to reach the database described by `settings_dict`."""
    name = str(settings_dict["NAME"])
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{name}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{host}{port}/{name}"


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1) -> None:
    """Polls `predicate` until it is true; fails the test naming `what` after `timeout` seconds."""
    try:
        processes.wait_until(lambda: bool(predicate()), what, timeout=timeout, interval=interval)
    except processes.NotReady as error:
        pytest.fail(str(error), pytrace=False)


def process_env(**overrides: str) -> dict[str, str]:
    """The environment for a project process started by a test."""
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings", "DEBUG": "1", **overrides}


def run_python(
    code: str, env: Mapping[str, str], *, unset: Iterable[str] = (), check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh Python in the project's folder, with `env` on top of the test environment
    (`process_env`) and the variables named in `unset` removed unless `env` sets them; its output as text."""
    environment = process_env(**env)
    for name in unset:
        if name not in env:
            environment.pop(name, None)
    return subprocess.run(
        [PYTHON, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def stack_env(database: str, queue: str, extra_env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment of a worker or beat process of a test."""
    return process_env(DATABASE_URL=database, CELERY_QUEUE=queue, REDIS_URL=REDIS_URL, **(extra_env or {}))


@contextmanager
def celery_worker(
    *,
    database: str,
    queue: str,
    log: Path,
    concurrency: int = 1,
    pool: str = "prefork",
    extra_env: Mapping[str, str] | None = None,
    wait_ready: bool = True,
) -> Iterator[Process]:
    """A real `celery worker` process on `queue` (`concurrency` prefork children, or threads with
    `pool="threads"`), against `database`, logging to `log` (a `.log` file); answering pings before it
    yields, unless `wait_ready` is False (a worker meant to crash)."""
    with processes.Group(stack_env(database, queue, extra_env), log.parent) as group:
        yield group.worker(queue, name=log.stem, concurrency=concurrency, pool=pool, wait=wait_ready)


@contextmanager
def celery_beat(
    *, database: str, queue: str, log: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[Process]:
    """A real `celery beat` process sending the periodic tasks to `queue`, logging to `log` (a `.log`
    file)."""
    with processes.Group(stack_env(database, queue, extra_env), log.parent) as group:
        yield group.beat(log.with_suffix(".schedule"))
