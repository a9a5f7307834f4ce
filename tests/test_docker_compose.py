"""docker-compose.yml stays valid and runs what `make demo` runs (no Docker engine runs here)."""

from __future__ import annotations

import shutil
import subprocess

import yaml

from marketplace.devstack import ENTRY_POINTS
from tests.services import ROOT, require

COMPOSE = ROOT / "docker-compose.yml"


def contains(command: list[str], entry: list[str]) -> bool:
    """Whether `entry` appears in `command` as consecutive items (inside `sh -c` strings too)."""
    words = " ".join(command).split()
    return any(words[i : i + len(entry)] == entry for i in range(len(words)))


def test_every_demo_process_is_a_compose_service_running_the_same_entry_point() -> None:
    # given
    services = yaml.safe_load(COMPOSE.read_text())["services"]

    # then the stack's services are all there, the app ones built from one image
    assert set(services) == {"wallet", "web", "worker", "beat", "flower", "redis", "postgres"}
    assert {services[name]["image"] for name in ENTRY_POINTS} == {"ilp-marketplace"}
    for name, entry in ENTRY_POINTS.items():
        assert contains(services[name]["command"], ["python", *entry]), name
    assert "migrate" in " ".join(services["web"]["command"])
    assert "demo_data" in " ".join(services["web"]["command"])
    assert services["web"]["environment"]["DATABASE_URL"].startswith("postgres://")


def test_docker_compose_validates_the_file() -> None:
    # given Debian's docker-compose, which validates without an engine
    require(shutil.which("docker-compose") is not None, "docker-compose", "apt-get install docker-compose")

    # when
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )

    # then
    assert (result.returncode, result.stderr) == (0, "")
