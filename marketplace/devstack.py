"""`make demo`: the local wallet, migrations and demo data, then web, worker, beat and Flower, in the
foreground.

Every process runs in its own process group; Ctrl-C (or SIGTERM) stops all of them, and so does any one
of them exiting on its own. Redis: the one at REDIS_URL when it answers; else a `redis-server` started
here; else Celery's filesystem transport under var/, said so on the console.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from marketplace.demo import DEMO_PASSWORD, RATES, STAFF_USERNAME
from marketplace.flower import DEMO_FLAG
from marketplace.processes import (
    ENTRY_POINTS,
    PYTHON,
    ROOT,
    STOP_GRACE_SECONDS,
    Group,
    NotReady,
    Process,
    answers,
)
from payments.exceptions import redact_url

# Flower's configuration file: it refuses to run Flower without a log-in (see marketplace.flower).
FLOWER_CONF = ROOT / "marketplace" / "flowerconfig.py"


def say(message: str) -> None:
    """One line on the console, flushed at once so a supervisor sees it."""
    print(f"[demo] {message}", flush=True)


class Stack(Group):
    """The child processes of one demo run, each start said on the console."""

    def started(self, name: str, process: Process) -> None:
        say(f"started {name} (pid {process.pid})")

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

    def stop(self) -> list[str]:
        """Stops every child (see Group.stop), saying which had to be killed."""
        late = super().stop()
        for name in late:
            say(f"{name} did not stop in {STOP_GRACE_SECONDS}s; killed it")
        say("stopped every process")
        return late


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines of `path`."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def choose_broker(stack: Stack) -> str:
    """The broker URL for this run: CELERY_BROKER_URL when set (RabbitMQ, say), else Redis, starting a
    local one when none answers and one is installed."""
    chosen = stack.env.get("CELERY_BROKER_URL", "")
    if chosen:
        say(f"broker: {redact_url(chosen)} (CELERY_BROKER_URL)")
        return chosen
    redis_url = stack.env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if answers(redis_url):
        say(f"broker: Redis at {redis_url}")
        return redis_url
    if shutil.which("redis-server"):
        stack.redis(urlsplit(redis_url).port or 6379)
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
    # DEBUG's technical error pages list settings and URL patterns: the demo shows the site's own.
    env.setdefault("ERROR_PAGES", "1")
    # The demo is watched in Flower: every task carries its name from the moment it is sent, not only
    # once Flower has turned the workers' events on.
    env.setdefault("CELERY_TASK_EVENTS", "true")
    env.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
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
    if "PROMETHEUS_MULTIPROC_DIR" not in env:
        # One directory the web and the workers share, so /metrics adds up every process; emptied first,
        # as prometheus_client asks, since a stopped process's files would count again.
        metrics_dir = var_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    env["CELERY_BROKER_URL"] = choose_broker(stack)
    stack.run("migrating the database", [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"])
    wallet_args = ["--host", host, "--port", env["WALLET_PORT"], "--admin"]
    wallet_args += ["--state", str(var_dir / "testwallet.json")]
    for rate in RATES:
        wallet_args += ["--rate", rate]
    if env.get("DEMO_AUTO_CONSENT"):
        wallet_args += ["--auto-consent", env["DEMO_AUTO_CONSENT"]]
    stack.start(
        "wallet",
        [PYTHON, *ENTRY_POINTS["wallet"], *wallet_args],
        ready=lambda: answers(env["TESTWALLET_URL"]),
    )
    env_file = var_dir / "demo.env"
    stack.run(
        "creating demo data",
        [PYTHON, "manage.py", "demo_data", "--wallet", env["TESTWALLET_URL"], "--env-file", str(env_file)],
    )
    for key, value in read_env_file(env_file).items():
        env.setdefault(key, value)
    if "worker" in processes:
        stack.start("worker", [PYTHON, *ENTRY_POINTS["worker"], "-l", "info", "-n", "demo@%h"])
    if "beat" in processes:
        stack.beat(var_dir / "celerybeat-schedule")
    if "flower" in processes:
        flower_args = [f"--conf={FLOWER_CONF}", f"--address={host}", f"--port={env['FLOWER_PORT']}"]
        # Without a log-in only on a loopback DEMO_HOST with DEBUG on (marketplace.flower decides).
        stack.start("flower", [PYTHON, *ENTRY_POINTS["flower"], *flower_args], env={**env, DEMO_FLAG: "1"})
    # The web process last: the others start while it is waited for.
    if "web" in processes:
        stack.web(host, int(env["WEB_PORT"]))


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
        say(f"staff log-in: {STAFF_USERNAME}, password {DEMO_PASSWORD}  (dashboard: {web}/dashboard)")
        say("press Ctrl-C to stop everything")
        while not stopping:
            ended = stack.exited()
            if ended:
                say(f"{ended[0]} exited with code {ended[1]}; stopping the rest")
                return 1
            time.sleep(0.2)
        return 0
    except NotReady as error:
        raise SystemExit(f"[demo] {error}; see above.") from None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    raise SystemExit(main())
