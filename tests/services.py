"""What the tests need from the machine, and how they start real processes.

A test that needs Redis, PostgreSQL, Node or Chromium calls `require(...)`: outside CI it skips with a
message naming what to install or start; under `CI=true` it fails, so a missing service never passes
silently.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
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


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_available(url: str = REDIS_URL) -> bool:
    """Whether the Redis at `url` accepts connections."""
    parts = urlsplit(url)
    return port_open(parts.hostname or "127.0.0.1", parts.port or 6379)


def require_redis() -> str:
    """The Redis URL the tests use, after checking it answers."""
    require(redis_available(), f"Redis at {REDIS_URL}", "start redis-server or set REDIS_URL")
    return REDIS_URL


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


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    """Polls `predicate` until it is true; fails the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stops a process group started by `spawn` (SIGTERM, then SIGKILL)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def spawn(args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Starts `args` in its own process group, output to `log`."""
    handle = log.open("wb")
    return subprocess.Popen(
        args, cwd=ROOT, env=dict(env), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def process_env(**overrides: str) -> dict[str, str]:
    """The environment for a project process started by a test."""
    env = dict(os.environ)
    env.update({"DJANGO_SETTINGS_MODULE": "marketplace.settings", "DEBUG": "1", "PYTHONUNBUFFERED": "1"})
    env.update(overrides)
    return env


@contextmanager
def celery_worker(
    *,
    database: str,
    queue: str,
    log: Path,
    concurrency: int = 1,
    extra_env: Mapping[str, str] | None = None,
    wait_ready: bool = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """A real `celery worker` process on `queue`, against `database`; answering pings before it yields,
    unless `wait_ready` is False (a worker meant to crash)."""
    env = process_env(DATABASE_URL=database, CELERY_QUEUE=queue, REDIS_URL=REDIS_URL, **(extra_env or {}))
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    args = [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "marketplace",
        "worker",
        "-l",
        "info",
        "-n",
        name,
        "--concurrency",
        str(concurrency),
        "--pool",
        "prefork",
        "-Q",
        queue,
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
    ]
    process = spawn(args, env, log)
    try:
        from marketplace.celery import app

        def answers() -> bool:
            if process.poll() is not None:
                pytest.fail(f"the worker exited early; its log:\n{log.read_text()}", pytrace=False)
            return bool(app.control.ping(timeout=0.5))

        if wait_ready:
            wait_until(answers, 60, "the Celery worker to answer a ping")
        yield process
    finally:
        stop_process(process)


@contextmanager
def celery_beat(*, database: str, queue: str, log: Path, extra_env: Mapping[str, str] | None = None):  # type: ignore[no-untyped-def]
    """A real `celery beat` process sending the periodic tasks to `queue`."""
    env = process_env(DATABASE_URL=database, CELERY_QUEUE=queue, REDIS_URL=REDIS_URL, **(extra_env or {}))
    args = [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "marketplace",
        "beat",
        "-l",
        "info",
        "--schedule",
        str(log.with_suffix(".schedule")),
    ]
    process = spawn(args, env, log)
    try:
        yield process
    finally:
        stop_process(process)
