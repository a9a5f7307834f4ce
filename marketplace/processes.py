"""Starting, waiting for and stopping the stack's processes: what `make demo`, the tests, the chaos suite
and the benchmarks run.

    with Group(env, log_dir) as group:             # everything started in it is stopped on exit
        group.redis(free_port())                   # returns once it answers (else raises NotReady)
        group.worker(queue, concurrency=2)         # once it answers a ping
        group.beat(log_dir / "beat.schedule")
        group.web("127.0.0.1", free_port())        # once it accepts connections

Every process runs in a process group of its own, its output appended to `<log_dir>/<name>.log`, so
stopping it also stops what it started (Celery's prefork children, gunicorn's workers).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from testwallet.testing import ClientIdentity, RunningWallet

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STOP_GRACE_SECONDS = 10
CELERY = ["-m", "celery", "-A", "marketplace"]
# What each process runs; docker-compose.yml runs the same (a test holds them together).
ENTRY_POINTS = {
    "wallet": ["-m", "testwallet"],
    "web": ["-m", "gunicorn", "-c", "python:marketplace.gunicorn", "marketplace.wsgi"],
    "worker": [*CELERY, "worker"],
    "beat": [*CELERY, "beat"],
    "flower": [*CELERY, "flower"],
}
Process = subprocess.Popen[bytes]


class NotReady(RuntimeError):
    """A process exited, or did not answer in time, while it was waited for."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def answers(url: str) -> bool:
    """Whether something accepts TCP connections at the host and port of `url` (6379 when it has none)."""
    parts = urlsplit(url)
    return port_open(parts.hostname or "127.0.0.1", parts.port or 6379)


def accepts_sessions(host: str, port: int) -> bool:
    """Whether the PostgreSQL server at host:port accepts sessions (not merely connections: a starting
    server refuses them for a moment)."""
    done = subprocess.run(["pg_isready", "-q", "-h", host, "-p", str(port)], check=False)
    return done.returncode == 0


def worker_answers(node: str) -> bool:
    """Whether the Celery worker named `node` answers a ping on this process's broker."""
    from marketplace.celery import app

    return bool(app.control.ping([node], timeout=0.5))


def wait_until(
    ready: Callable[[], bool],
    what: str,
    *,
    timeout: float = 30,
    process: Process | None = None,
    log: Path | None = None,
    interval: float = 0.1,
) -> None:
    """Returns once `ready()` is true; raises NotReady naming `what` (with the end of `log`) when
    `process` exits first or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            problem = f"{what} exited with code {process.returncode}"
        elif time.monotonic() > deadline:
            problem = f"timed out after {timeout}s waiting for {what}"
        else:
            time.sleep(interval)
            continue
        if log is not None and log.exists():
            problem += f"; the end of {log.name}:\n{log.read_text(errors='replace')[-4000:]}"
        raise NotReady(problem)


def as_user(name: str) -> list[str]:
    """The command prefix that runs a command as the system user `name` (nothing when this process
    already runs as that user): PostgreSQL refuses to run as root."""
    import pwd

    return (
        []
        if pwd.getpwuid(os.getuid()).pw_name == name
        else [shutil.which("runuser") or "/usr/sbin/runuser", "-u", name, "--"]
    )


def pg_bin(program: str) -> Path:
    """The path of a PostgreSQL server program (`initdb`, `postgres`): on the PATH, else the newest
    version in Debian's layout."""
    found = shutil.which(program)
    if found:
        return Path(found)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not versions:
        raise NotReady(f"PostgreSQL's {program} was not found (install postgresql)")
    return versions[-1] / program


def hand_over(folder: Path, user: str) -> None:
    """Makes `folder` (created when missing) and what is in it belong to `user`, and lets every user
    pass through its parents (a temporary directory is private to its owner)."""
    folder.mkdir(parents=True, exist_ok=True)
    for parent in folder.resolve().parents:
        status = parent.stat()
        if status.st_uid == os.getuid() and not status.st_mode & 0o001:
            parent.chmod(status.st_mode | 0o001)
    for path in [folder, *folder.rglob("*")]:
        shutil.chown(path, user)


def spawn(args: Sequence[str], env: dict[str, str], log: Path | None = None) -> Process:
    """Starts `args` in the repository in a process group of its own, its output appended to `log`
    (to this process's output when None)."""
    output = log.open("ab") if log is not None else None
    try:
        return subprocess.Popen(
            list(args),
            cwd=ROOT,
            # Unbuffered: the logs are read while the processes run.
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if output is not None:
            output.close()


def kill(process: Process) -> None:
    """Ends the process group of `process` at once (SIGKILL)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def stop(*processes: Process, grace: float = STOP_GRACE_SECONDS) -> list[Process]:
    """SIGTERM to each process group, SIGKILL to whatever is left after `grace` seconds; the processes
    that did not stop in time."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    late = []
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            late.append(process)
        # Also after a clean exit: children the process left behind in its group.
        kill(process)
    return late


@dataclass
class Group:
    """Named processes started with one environment, each logging to `<log_dir>/<name>.log` (to this
    process's output when `log_dir` is None); `stop()`, or leaving a `with` block, stops all of them."""

    env: dict[str, str]
    log_dir: Path | None = None
    children: list[tuple[str, Process]] = field(default_factory=list)

    def __enter__(self) -> Group:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def log(self, name: str) -> Path | None:
        """Where the output of the process `name` goes."""
        return None if self.log_dir is None else self.log_dir / f"{name}.log"

    def started(self, name: str, process: Process) -> None:
        """Does nothing; a subclass that reports each start overrides it."""

    def start(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        ready: Callable[[], bool] | None = None,
        timeout: float = 30,
    ) -> Process:
        """Starts `args` as `name` (with `env` instead of the group's); given `ready`, returns once it is
        true, else raises NotReady (the process stays in the group, to be stopped with it)."""
        process = spawn(args, self.env if env is None else env, self.log(name))
        self.children.append((name, process))
        self.started(name, process)
        if ready is not None:
            wait_until(ready, f"the {name} process", timeout=timeout, process=process, log=self.log(name))
        return process

    def stop(self) -> list[str]:
        """Stops every process of the group, the last started first; the names of those that had to be
        killed."""
        late = stop(*(process for _, process in reversed(self.children)))
        return [name for name, process in self.children if process in late]

    def redis(self, port: int, folder: Path | None = None, host: str = "127.0.0.1") -> Process:
        """A `redis-server` on host:`port` that keeps nothing on disk (a restart loses every message),
        once it answers; `folder` is its working directory."""
        args = ["redis-server", "--port", str(port), "--bind", host, "--save", ""]
        args += ["--protected-mode", "no", "--appendonly", "no", *(["--dir", str(folder)] if folder else [])]
        return self.start("redis", args, ready=lambda: port_open(host, port), timeout=10)

    def postgres(self, folder: Path, port: int, host: str = "127.0.0.1") -> Process:
        """A PostgreSQL server of its own on host:`port` (user `postgres`, trusting every client that
        reaches it), its cluster in `folder` (made on the first start, kept across restarts), once it
        accepts sessions."""
        data = folder / "data"
        if not (data / "PG_VERSION").exists():
            hand_over(folder, "postgres")
            initdb = [str(pg_bin("initdb")), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
            subprocess.run([*as_user("postgres"), *initdb], check=True, capture_output=True)
            # initdb trusts only loopback; this server is on `host` for whoever reaches it there.
            with (data / "pg_hba.conf").open("a") as rules:
                rules.write("host all all all trust\n")
        args = [*as_user("postgres"), str(pg_bin("postgres")), "-D", str(data), "-p", str(port)]
        args += ["-k", str(folder), "-c", f"listen_addresses={host}", "-c", "fsync=off"]
        args += ["-c", "max_connections=200"]
        return self.start("postgres", args, ready=lambda: accepts_sessions(host, port), timeout=30)

    def rabbitmq(self, folder: Path, port: int, host: str = "127.0.0.1") -> Process:
        """A RabbitMQ node of its own on host:`port` (guest/guest from anywhere, no plugins), its
        messages and queues in `folder` (kept across restarts), once it accepts connections."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "enabled_plugins").write_text("[].\n")
        (folder / "rabbitmq.conf").write_text(f"listeners.tcp.local = {host}:{port}\nloopback_users = none\n")
        (folder / "rabbitmq-env.conf").write_text("ERL_EPMD_ADDRESS=127.0.0.1\n")
        hand_over(folder, "rabbitmq")
        env = {
            **os.environ,
            # Its own user's home holds the Erlang cookie that `rabbitmqctl` uses too.
            "HOME": str(Path("~rabbitmq").expanduser()),
            "ERL_CRASH_DUMP": str(folder / "erl_crash.dump"),
            **self.env,
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_NODENAME": f"node{port}@localhost",
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
        }
        # The server script itself, not Debian's wrapper, which would start it in a session of its own
        # (`su`) that stopping this group would not reach.
        server = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
        args = [*as_user("rabbitmq"), str(server if server.exists() else shutil.which("rabbitmq-server"))]
        return self.start("rabbitmq", args, env=env, ready=lambda: port_open(host, port), timeout=90)

    def worker(
        self,
        queue: str,
        *,
        name: str = "worker",
        concurrency: int = 1,
        pool: str = "prefork",
        log_level: str = "info",
        env: dict[str, str] | None = None,
        wait: bool = True,
        prefix: Sequence[str] = (),
    ) -> Process:
        """A `celery worker` consuming only `queue` with `concurrency` prefork children (or threads, with
        `pool="threads"`), run through `prefix` when given (e.g. `ip netns exec <name>`); once it answers
        a ping, unless `wait` is False (a worker meant to crash)."""
        node = f"{name}-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        args = [*prefix, PYTHON, *ENTRY_POINTS["worker"], "-l", log_level, "-n", node, "--pool", pool]
        args += ["--concurrency", str(concurrency), "-Q", queue]
        # No cluster chatter between short-lived workers; mingle alone delays the start by a second.
        args += ["--without-heartbeat", "--without-mingle", "--without-gossip"]
        ready = (lambda: worker_answers(node)) if wait else None
        # The settings choose the database connections for the pool the worker runs (see settings).
        env = {**(self.env if env is None else env), "CELERY_WORKER_POOL": pool}
        return self.start(name, args, env=env, ready=ready, timeout=60)

    def beat(self, schedule: Path, log_level: str = "info") -> Process:
        """`celery beat`, keeping its schedule in the file `schedule`."""
        args = [PYTHON, *ENTRY_POINTS["beat"], "-l", log_level, "--schedule", str(schedule)]
        return self.start("beat", args)

    def web(self, host: str, port: int) -> Process:
        """The web process (gunicorn, as compose runs it) on host:port, once it accepts connections."""
        args = [PYTHON, *ENTRY_POINTS["web"], "--bind", f"{host}:{port}"]
        return self.start("web", args, ready=lambda: port_open(host, port), timeout=60)


@contextlib.contextmanager
def database(
    server: str = "postgres://postgres@127.0.0.1:5432", *, prefix: str, client_args: Sequence[str] = ()
) -> Iterator[str]:
    """A new, empty PostgreSQL database on `server` (created with `createdb`, `client_args` instead of
    the server's host, port and user when given), dropped on exit; its URL."""
    parts = urlsplit(server)
    host, port, user = parts.hostname or "127.0.0.1", str(parts.port or 5432), parts.username or "postgres"
    args = list(client_args) or ["-h", host, "-p", port, "-U", user]
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    subprocess.run(["createdb", *args, name], check=True)
    try:
        yield f"{server.rstrip('/')}/{name}"
    finally:
        from django.db import connections

        # This process's connections first; `--force` ends those of the processes it started.
        connections.close_all()
        subprocess.run(["dropdb", *args, "--force", name], check=False)


@contextlib.contextmanager
def local_wallet(
    folder: Path, seed: dict[str, Any] | None = None, **options: Any
) -> Iterator[tuple[RunningWallet, ClientIdentity, dict[str, str]]]:
    """The local wallet in a process of its own (`options` as `running_wallet` takes them, `tls=True` for
    https; log in `folder/wallet.log`) with the marketplace's client on it: the wallet, the client, and
    the OP_* settings that make a process that client (its key in `folder/private.pem`; over https, the
    wallet's CA trusted and no plain http)."""
    from testwallet.testing import running_wallet

    with running_wallet(seed, log_path=folder / "wallet.log", **options) as wallet:
        client = wallet.create_client("marketplace", public_name="Marketplace")
        key = folder / "private.pem"
        key.touch(mode=0o600)
        key.write_bytes(client.private_key_pem)
        env = {
            "OP_CLIENT_WALLET_ADDRESS": client.url,
            "OP_KEY_ID": client.key_id,
            "OP_PRIVATE_KEY": str(key),
            "OP_PRIVATE_HOSTS": "127.0.0.1",
        }
        if wallet.ca_file is None:
            env["OP_HTTP_HOSTS"] = "127.0.0.1"
        else:
            env["OP_CA_BUNDLE"] = str(wallet.ca_file)
        yield wallet, client, env


def delete_queue(broker_url: str, name: str) -> None:
    """Deletes a run's queue at its broker (with what is left in it), and on RabbitMQ its exchange too:
    RabbitMQ keeps both after their consumers have gone."""
    from kombu import Connection, Exchange, Queue

    with Connection(broker_url, connect_timeout=4) as connection:
        Queue(name, channel=connection.default_channel).delete()
        if broker_url.startswith("amqp"):
            Exchange(name, channel=connection.default_channel).delete()
