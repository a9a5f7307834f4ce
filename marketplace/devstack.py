"""`make demo`: the local wallet, migrations and demo data, then web, worker, beat and Flower, in the
foreground.

Every process runs in its own process group; Ctrl-C (or SIGTERM) stops all of them, and so does any one
of them exiting on its own. Redis: the one at REDIS_URL when it answers; else a `redis-server` started
here; else Celery's filesystem transport under var/, said so on the console.
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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from marketplace.demo import DEMO_PASSWORD

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


def say(message: str) -> None:
    """One line on the console, flushed at once so a supervisor sees it."""
    print(f"[demo] {message}", flush=True)


def answers(url: str, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at the host and port of `url`."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class Stack:
    """The child processes of one demo run."""

    env: dict[str, str]
    # Where each child's output goes (`<name>.log`); the console when None.
    log_dir: Path | None = None
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        """Starts `args` as a named child in its own process group."""
        output = None
        if self.log_dir is not None:
            output = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, start_new_session=True, stdout=output, stderr=subprocess.STDOUT
        )
        if output is not None:
            output.close()
        self.children.append((name, process))
        say(f"started {name} (pid {process.pid})")
        return process

    def run(self, name: str, args: list[str]) -> None:
        """Runs a set-up step to completion; a failure stops the demo with the step's name."""
        say(f"{name}…")
        if subprocess.run(args, cwd=ROOT, env=self.env, check=False).returncode != 0:
            raise SystemExit(f"[demo] {name} failed; see above.")

    def exited(self) -> tuple[str, int] | None:
        """The first child that has exited on its own, with its exit code."""
        for name, process in self.children:
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop(self) -> None:
        """SIGTERM to every child's group, then SIGKILL to whatever is left after the grace period."""
        for _name, process in reversed(self.children):
            signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in {STOP_GRACE_SECONDS}s; killing it")
            signal_group(process, signal.SIGKILL)
            process.wait()
        say("stopped every process")


def signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Sends `sig` to the process group led by `process`, if any of it is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def wait_for(url: str, what: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Waits until `url` accepts connections; stops the demo naming `what` when it does not."""
    deadline = time.monotonic() + timeout
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"[demo] {what} did not start; see above.")
        time.sleep(0.1)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines of `path`."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def choose_broker(stack: Stack) -> str:
    """The broker URL for this run, starting a local Redis when none answers and one is installed."""
    redis_url = stack.env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if answers(redis_url):
        say(f"broker: Redis at {redis_url}")
        return redis_url
    server = shutil.which("redis-server")
    if server:
        port = urlsplit(redis_url).port or 6379
        stack.start(
            "redis", [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        )
        deadline = time.monotonic() + 10
        while not answers(redis_url) and time.monotonic() < deadline:
            time.sleep(0.1)
        say(f"broker: started redis-server at {redis_url}")
        return redis_url
    say(
        "broker: no Redis reachable and redis-server is not installed; using the embedded filesystem "
        "broker under var/broker (fine for a demo, not for production)"
    )
    return "filesystem://"


def demo_env(base: dict[str, str]) -> dict[str, str]:
    """The environment every process of the demo runs with."""
    env = dict(base)
    env.setdefault("DEBUG", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("DEMO_HOST", "127.0.0.1")
    env.setdefault("WEB_PORT", "8000")
    env.setdefault("FLOWER_PORT", "5555")
    env.setdefault("WALLET_PORT", "4000")
    env.setdefault("VAR_DIR", str(ROOT / "var"))
    env.setdefault("TESTWALLET_URL", f"http://{env['DEMO_HOST']}:{env['WALLET_PORT']}")
    env.setdefault("PUBLIC_BASE_URL", f"http://{env['DEMO_HOST']}:{env['WEB_PORT']}")
    return env


def bring_up(stack: Stack, processes: tuple[str, ...] = ("web", "worker", "beat", "flower")) -> None:
    """Broker, migrations, the local wallet and demo data, then `processes`; each waited for."""
    env = stack.env
    host, var_dir = env["DEMO_HOST"], Path(env["VAR_DIR"])
    var_dir.mkdir(parents=True, exist_ok=True)
    env["CELERY_BROKER_URL"] = choose_broker(stack)
    stack.run("migrating the database", [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"])
    run = {name: [PYTHON, *entry] for name, entry in ENTRY_POINTS.items()}
    wallet_args = [
        "--host",
        host,
        "--port",
        env["WALLET_PORT"],
        "--admin",
        "--state",
        str(var_dir / "testwallet.json"),
    ]
    if env.get("DEMO_AUTO_CONSENT"):
        wallet_args += ["--auto-consent", env["DEMO_AUTO_CONSENT"]]
    wallet = stack.start("wallet", [*run["wallet"], *wallet_args])
    wait_for(env["TESTWALLET_URL"], "the local wallet", wallet)
    env_file = var_dir / "demo.env"
    stack.run(
        "creating demo data",
        [PYTHON, "manage.py", "demo_data", "--wallet", env["TESTWALLET_URL"], "--env-file", str(env_file)],
    )
    for key, value in read_env_file(env_file).items():
        env.setdefault(key, value)
    arguments = {
        "web": ["--bind", f"{host}:{env['WEB_PORT']}"],
        "worker": ["-l", "info", "--concurrency", "2", "-n", "demo@%h"],
        "beat": ["-l", "info", "--schedule", str(var_dir / "celerybeat-schedule")],
        "flower": [f"--address={host}", f"--port={env['FLOWER_PORT']}"],
    }
    started = {name: stack.start(name, [*run[name], *arguments[name]]) for name in processes}
    if "web" in started:
        wait_for(env["PUBLIC_BASE_URL"], "the web server", started["web"])


def main() -> int:
    """Runs the stack until Ctrl-C; the exit code is 0 after a clean stop."""
    env = demo_env(dict(os.environ))
    stack = Stack(env=env)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        bring_up(stack)
        host, web = env["DEMO_HOST"], env["PUBLIC_BASE_URL"]
        say(f"marketplace: {web}/")
        say(f"health:      {web}/healthz")
        say(f"admin:       {web}/admin/")
        say(f"flower:      http://{host}:{env['FLOWER_PORT']}/")
        say(f"wallet:      {env['TESTWALLET_URL']}/  (the local Open Payments wallet you pay from)")
        say(f"log in as funder (or provider), password {DEMO_PASSWORD}")
        say("press Ctrl-C to stop everything")
        while not stopping:
            ended = stack.exited()
            if ended:
                say(f"{ended[0]} exited with code {ended[1]}; stopping the rest")
                return 1
            time.sleep(0.2)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    raise SystemExit(main())
