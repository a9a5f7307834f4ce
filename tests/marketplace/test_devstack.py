"""`make demo` (marketplace.devstack) brings the stack up and Ctrl-C takes all of it down."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from marketplace.processes import PYTHON, free_port, kill, spawn
from tests.services import process_env, require_redis, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def alive(pid: int) -> bool:
    """Whether a process with this id still exists (and is not a zombie we have reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def get(url: str) -> httpx.Response | None:
    """A GET that answers None instead of raising while a server is still starting."""
    try:
        return httpx.get(url, timeout=3)
    except httpx.HTTPError:
        return None


def run_demo_once(env: dict[str, str], output: Path, web: int, flower: int, wallet: int) -> None:
    """Starts the demo, checks it serves, presses Ctrl-C, and checks nothing is left behind."""
    demo = spawn([PYTHON, "-m", "marketplace.devstack"], env, output)
    try:
        # when it is up
        def healthy() -> bool:
            assert demo.poll() is None, output.read_text()
            response = get(f"http://127.0.0.1:{web}/healthz")
            return response is not None and response.status_code == 200

        wait_until(healthy, 90, "/healthz to answer 200")
        wait_until(
            lambda: (r := get(f"http://127.0.0.1:{flower}/")) is not None and r.status_code == 200,
            60,
            "Flower to answer",
        )
        pids = {
            name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", output.read_text())
        }

        # then every process was started, every URL and log-in printed, and the demo's funder can log in
        assert set(pids) == {"wallet", "web", "worker", "beat", "flower"}
        text = output.read_text()
        for line in (
            f"http://127.0.0.1:{web}/",
            f"http://127.0.0.1:{web}/healthz",
            f"http://127.0.0.1:{flower}/",
            f"http://127.0.0.1:{wallet}/",
            "log in as funder (or provider), password demo-password-2026",
            "[demo] staff log-in: staff, password demo-password-2026  "
            f"(dashboard: http://127.0.0.1:{web}/dashboard)",
        ):
            assert line in text
        assert httpx.get(f"http://127.0.0.1:{wallet}/fiona", timeout=5).json()["publicName"] == "Fiona Funder"

        # and Paula's wallet holds EUR, which the wallet converts from USD at 0.92
        paula = httpx.get(f"http://127.0.0.1:{wallet}/paula", timeout=5).json()
        assert (paula["publicName"], paula["assetCode"], paula["assetScale"]) == ("Paula Provider", "EUR", 2)
        rates = httpx.get(f"http://127.0.0.1:{wallet}/_admin/settings", timeout=5).json()["rates"]
        assert rates == {"USD:EUR": "23/25"}

        # when Ctrl-C is pressed
        os.kill(demo.pid, signal.SIGINT)
        code = demo.wait(timeout=30)

        # then it exits cleanly and leaves no process of its own behind
        assert code == 0, output.read_text()
        leftover = subprocess.run(
            ["pgrep", "-g", ",".join(str(p) for p in pids.values())],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        assert leftover == []
        assert [name for name, pid in pids.items() if alive(pid)] == []
    finally:
        kill(demo)


def test_demo_serves_healthz_and_flower_and_ctrl_c_leaves_no_process_behind_twice(tmp_path: Path) -> None:
    # given the demo started as `make demo` starts it, on ports and a database of its own
    redis_url = require_redis()
    web, flower, wallet = free_port(), free_port(), free_port()
    env = process_env(
        WEB_PORT=str(web),
        FLOWER_PORT=str(flower),
        WALLET_PORT=str(wallet),
        VAR_DIR=str(tmp_path),
        REDIS_URL=redis_url,
        CELERY_QUEUE=f"demo-{uuid.uuid4().hex[:8]}",
    )
    env.pop("DATABASE_URL", None)

    # when / then: a first run, and a second one on what the first left (idempotent set-up)
    run_demo_once(env, tmp_path / "first.log", web, flower, wallet)
    run_demo_once(env, tmp_path / "second.log", web, flower, wallet)
