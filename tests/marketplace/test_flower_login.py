"""Flower runs only behind a log-in, except under `make demo` on a loopback address."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from marketplace import devstack
from marketplace.flower import BAD_BASIC_AUTH, DEMO_FLAG, NO_LOGIN, refusal
from marketplace.processes import ENTRY_POINTS, kill, spawn
from tests.services import PYTHON, ROOT, free_port, process_env, require_redis, wait_until

CONF = f"--conf={ROOT / 'marketplace' / 'flowerconfig.py'}"
SECRET = "x" * 50


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # `make demo` on loopback with DEBUG: no log-in needed
        ({"address": "127.0.0.1", "debug": True, "demo": True}, None),
        ({"address": "localhost", "debug": True, "demo": True}, None),
        ({"address": "::1", "debug": True, "demo": True}, None),
        # anything else without credentials is refused
        ({"address": "127.0.0.1", "debug": True, "demo": False}, NO_LOGIN),  # compose, or by hand
        ({"address": "127.0.0.1", "debug": False, "demo": True}, NO_LOGIN),  # DEBUG=false make demo
        ({"address": "0.0.0.0", "debug": True, "demo": True}, NO_LOGIN),  # noqa: S104 - demo on every interface
        ({"address": "", "debug": True, "demo": True}, NO_LOGIN),  # Flower's default: every interface
        ({"address": "192.168.1.5", "debug": True, "demo": True}, NO_LOGIN),
        # credentials make any start fine
        ({"address": "0.0.0.0", "debug": False, "demo": False, "basic_auth": ["ops:s3cret"]}, None),  # noqa: S104
        ({"address": "0.0.0.0", "debug": False, "demo": False, "auth": r".*@example\.com"}, None),  # noqa: S104
        # an empty FLOWER_BASIC_AUTH (compose passes it on unset) is no credential
        ({"address": "127.0.0.1", "debug": False, "demo": False, "basic_auth": [""]}, NO_LOGIN),
        # and a malformed one is refused, whatever else holds
        ({"address": "127.0.0.1", "debug": True, "demo": True, "basic_auth": ["ops"]}, BAD_BASIC_AUTH),
        ({"address": "127.0.0.1", "debug": True, "demo": True, "basic_auth": ["ops:"]}, BAD_BASIC_AUTH),
        ({"address": "127.0.0.1", "debug": True, "demo": True, "basic_auth": [":pw"]}, BAD_BASIC_AUTH),
    ],
)
def test_who_may_run_flower_without_a_log_in(options: dict[str, object], expected: str | None) -> None:
    arguments: dict[str, object] = {"basic_auth": [], "auth": "", **options}
    assert refusal(**arguments) == expected  # type: ignore[arg-type]


def flower_args(port: int, address: str = "127.0.0.1") -> list[str]:
    return [PYTHON, *ENTRY_POINTS["flower"], CONF, f"--address={address}", f"--port={port}"]


def flower_env(**env: str) -> dict[str, str]:
    environment = process_env(**env)
    for name in ("FLOWER_BASIC_AUTH", DEMO_FLAG):
        if name not in env:
            environment.pop(name, None)
    return environment


@contextmanager
def running_flower(port: int, log: Path, **env: str) -> Iterator[None]:
    """Flower started as our starts start it, once it answers on `port`."""
    process = spawn(flower_args(port), flower_env(**env), log)
    try:
        wait_until(lambda: port_answers(port, process, log), 60, "Flower to answer")
        yield
    finally:
        kill(process)


def port_answers(port: int, process: subprocess.Popen[bytes], log: Path) -> bool:
    assert process.poll() is None, log.read_text()
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthcheck", timeout=2)
    except httpx.HTTPError:
        return False
    return True


@pytest.mark.parametrize(
    "env",
    [
        {"DEBUG": "false", "SECRET_KEY": SECRET},  # a production start
        {"DEBUG": "true", "FLOWER_BASIC_AUTH": ""},  # compose's, FLOWER_BASIC_AUTH left unset
        {"DEBUG": "false", "SECRET_KEY": SECRET, DEMO_FLAG: "1"},  # DEBUG=false make demo
    ],
)
def test_without_credentials_flower_stops_at_once_saying_what_to_set(env: dict[str, str]) -> None:
    # when
    done = subprocess.run(
        flower_args(free_port()), cwd=ROOT, env=flower_env(**env), capture_output=True, text=True, timeout=60
    )

    # then
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"[flower] {NO_LOGIN}"


@pytest.mark.redis
def test_with_credentials_flower_asks_for_them(tmp_path: Path) -> None:
    # given a production start with FLOWER_BASIC_AUTH
    redis_url = require_redis()
    port = free_port()
    env = {"DEBUG": "false", "SECRET_KEY": SECRET, "REDIS_URL": redis_url, "FLOWER_BASIC_AUTH": "ops:s3cret"}

    with running_flower(port, tmp_path / "flower.log", **env):
        # when a stranger and then the operator open it
        stranger = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        operator = httpx.get(f"http://127.0.0.1:{port}/", auth=("ops", "s3cret"), timeout=10)

    # then
    assert stranger.status_code == 401
    assert operator.status_code == 200


@pytest.mark.redis
def test_the_demo_on_loopback_runs_flower_without_a_log_in(tmp_path: Path) -> None:
    # given Flower as `make demo` starts it
    redis_url = require_redis()
    port = free_port()

    with running_flower(port, tmp_path / "flower.log", DEBUG="true", REDIS_URL=redis_url, **{DEMO_FLAG: "1"}):
        # when
        response = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)

    # then
    assert response.status_code == 200


def test_every_start_of_ours_reads_the_configuration_that_refuses() -> None:
    # given compose's Flower and the demo's
    flower = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["flower"]
    dockerfile = (ROOT / "Dockerfile").read_text()

    # then compose passes the file (copied into the image with marketplace/) and FLOWER_BASIC_AUTH, and
    # never the demo's exception; `make demo` passes the same file
    assert "--conf=/app/marketplace/flowerconfig.py" in flower["command"]
    assert "COPY marketplace ./marketplace" in dockerfile and "WORKDIR /app" in dockerfile
    assert flower["environment"]["FLOWER_BASIC_AUTH"] == "${FLOWER_BASIC_AUTH:-}"
    assert DEMO_FLAG not in flower["environment"]
    assert devstack.FLOWER_CONF == ROOT / "marketplace" / "flowerconfig.py"
    assert devstack.FLOWER_CONF.exists()
