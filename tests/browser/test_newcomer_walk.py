"""The newcomer's path in a real browser: from the demo's console to a paid job.

- `test_a_funder_pays_a_job_in_a_real_browser`: the stack `make demo` brings up (local wallet with a
  real consent page, demo data, web, worker), on free ports with its own SQLite, then the walk.
- `test_make_demo_from_a_fresh_clone_ends_with_the_job_paid`: a fresh `git clone` of this repository,
  the command `make demo` runs, in the background; the walk follows only what its console prints.
- `test_the_running_demo`: the walk against a demo you started yourself (`make demo`, then
  `make demo-check`); skipped unless DEMO_URL is set.

Screenshots of every step: artifacts/browser/<test>/.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from playwright.sync_api import expect

from marketplace.demo import DEMO_PASSWORD
from tests.browser.walk import Walk
from tests.services import PYTHON, ROOT, free_port, require

pytestmark = [pytest.mark.browser, pytest.mark.slow]
T = TypeVar("T")

# What the test's own stack must not inherit from the machine or from pytest-django.
NOT_INHERITED = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "PUBLIC_BASE_URL",
    "TESTWALLET_URL",
    "VAR_DIR",
    "DEMO_AUTO_CONSENT",
    "OP_CLIENT_WALLET_ADDRESS",
    "OP_KEY_ID",
    "OP_PRIVATE_KEY",
    "WEB_PORT",
    "FLOWER_PORT",
    "WALLET_PORT",
)
CONSOLE_SECONDS = 120
FIRST_JOB = "Translate the README into Portuguese"
# A wallet as slow as a real one, so a person (and the test) can watch "Generating payment link…".
REAL_WALLET_PACE = {"routes": {"grant.create": {"latencyMs": 3000}}, "settlementDelaySeconds": 1}


def pace_like_a_real_wallet(wallet: str) -> None:
    """Slows the local wallet's grant requests through its admin API (`make demo` enables it)."""
    httpx.put(f"{wallet.rstrip('/')}/_admin/faults", json=REAL_WALLET_PACE, timeout=5).raise_for_status()


def newcomer_walk(browser, marketplace: str, wallet: str, artifacts: Path, password: str) -> Walk:  # type: ignore[no-untyped-def]
    """The walk of the demo's first job, on a wallet slow enough to watch every state."""
    pace_like_a_real_wallet(wallet)
    return Walk(
        browser,
        marketplace,
        wallet,
        artifacts,
        password=password,
        job_title=FIRST_JOB,
        live_updates_required=True,
    )


def demo_base_env(**overrides: str) -> dict[str, str]:
    """The environment a newcomer's shell has, plus free ports and a queue of this test's own."""
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    env.update(
        WEB_PORT=str(free_port()),
        FLOWER_PORT=str(free_port()),
        WALLET_PORT=str(free_port()),
        CELERY_QUEUE=f"browser-{uuid.uuid4().hex[:10]}",
        LOG_FORMAT="plain",
    )
    env.update(overrides)
    return env


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@contextmanager
def demo_stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The stack of `make demo` (the local wallet asking a person to consent, demo data, web, worker) on
    free ports with its own SQLite, for the block; its environment."""
    from marketplace.devstack import Stack, bring_up, demo_env

    env = demo_env(
        demo_base_env(VAR_DIR=str(tmp_path / "var"), DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    )
    stack = Stack(env=env, log_dir=tmp_path)
    try:
        bring_up(stack, processes=("web", "worker"))
        yield env
    finally:
        stack.stop()


def walk_or_explain(walk: Walk, logs: Path, run: Callable[[], T] | None = None) -> T | dict[str, str]:
    """Runs the walk (or `run`, a walk of its own); a failure carries the end of every process log."""
    try:
        return run() if run is not None else walk.run()
    except AssertionError as error:
        details = "\n".join(f"--- {log.name}\n{tail(log)}" for log in sorted(logs.glob("*.log")))
        raise AssertionError(f"{error}\nsteps done: {walk.steps}\n{details}") from error


def check_what_was_seen(seen: dict[str, str]) -> None:
    # the demo's first job: a $45.00 quote, the same amount on our page, the wallet's and the receipt
    assert seen["quote"] == "$45.00", seen
    assert seen["consent_amount"] == f"up to {seen['you_pay']}", seen
    assert seen["debited"] == seen["you_pay"]
    assert seen["received"] == "$45.00"


def test_a_funder_pays_a_job_in_a_real_browser(browser, artifacts: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # given the stack of `make demo`: the local wallet asking a person to consent, demo data, web, worker
    with demo_stack(tmp_path) as env:
        walk = newcomer_walk(browser, env["PUBLIC_BASE_URL"], env["TESTWALLET_URL"], artifacts, DEMO_PASSWORD)

        # when a person walks from the log-in to the paid job
        seen = walk_or_explain(walk, tmp_path)

    # then every step happened, with the same amounts everywhere, on pages with nothing axe-core rates
    # serious or critical
    check_what_was_seen(seen)
    assert (artifacts / "job-paid.png").exists()
    assert not walk.violations, "\n".join(map(str, walk.violations))


def console_value(console: str, pattern: str) -> str:
    found = re.search(pattern, console, re.MULTILINE)
    assert found, f"the demo's console does not say {pattern!r}:\n{console}"
    return found.group(1)


def test_make_demo_from_a_fresh_clone_ends_with_the_job_paid(  # type: ignore[no-untyped-def]
    browser, artifacts: Path, tmp_path: Path
) -> None:
    # given a fresh clone (committed files only), and the command `make demo` runs in it
    require((ROOT / ".git").exists(), "a git checkout", "run the tests from a clone of the repository")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    recipe = re.search(r"^demo:.*\n\t(.+)$", (clone / "Makefile").read_text(), re.MULTILINE)
    assert recipe and recipe.group(1) == "$(BIN)/python -m marketplace.devstack", "make demo changed"
    console_log = tmp_path / "console.log"
    with console_log.open("wb") as console_file:
        demo = subprocess.Popen(
            [PYTHON, "-m", "marketplace.devstack"],
            cwd=clone,
            env=demo_base_env(),
            stdout=console_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # when the console says it is ready
        deadline = time.monotonic() + CONSOLE_SECONDS
        while "press Ctrl-C to stop everything" not in console_log.read_text(errors="replace"):
            assert demo.poll() is None, f"make demo exited:\n{console_log.read_text()}"
            assert time.monotonic() < deadline, f"make demo never became ready:\n{console_log.read_text()}"
            time.sleep(0.2)
        console = console_log.read_text()

        # and a person follows only what it printed
        marketplace = console_value(console, r"^\[demo\] marketplace: +(\S+)")
        wallet = console_value(console, r"^\[demo\] wallet: +(\S+)")
        flower = console_value(console, r"^\[demo\] flower: +(\S+)")
        password = console_value(console, r"log in as funder \(or provider\), password (\S+)")
        walk = newcomer_walk(browser, marketplace, wallet, artifacts, password)
        seen = walk_or_explain(walk, clone / "var")

        # then the job is paid, and Flower saw the tasks that paid it
        check_what_was_seen(seen)
        flower_page = walk.pages[0]
        with walk.step("Flower lists the tasks that paid the job", flower_page):
            flower_page.goto(f"{flower.rstrip('/')}/tasks")
            # (searched for: the newest tasks, emails and the event dispatcher's, fill the first page)
            search = flower_page.get_by_role("searchbox", name="Search tasks")
            for task in ("payments.generate_link", "payments.continue_grant", "payments.poll"):
                search.fill(task)
                expect(flower_page.get_by_role("cell", name=task, exact=True).first).to_be_visible()
    finally:
        # and Ctrl-C stops everything it started
        demo.send_signal(signal.SIGINT)
        try:
            code = demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            raise
    assert code == 0, console_log.read_text()
    # (the clone's own code ran: its settings put the database under the clone's var/)
    assert (clone / "var" / "marketplace.sqlite3").exists()
    assert "stopped every process" in console_log.read_text()


def test_the_running_demo(browser, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    # given a demo someone started (`make demo`), its URLs as its console printed them
    marketplace = os.environ.get("DEMO_URL")
    if not marketplace:
        pytest.skip("set DEMO_URL (and DEMO_WALLET_URL) to walk a running `make demo`: make demo-check")
    wallet = os.environ.get("DEMO_WALLET_URL", "http://127.0.0.1:4000")

    # when a person walks it, then the job they picked is paid
    walk = Walk(browser, marketplace, wallet, artifacts, password=DEMO_PASSWORD)
    seen = walk.run()
    assert seen["debited"] == seen["you_pay"]
    assert seen["consent_amount"] == f"up to {seen['you_pay']}"
