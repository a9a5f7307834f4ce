"""docker-compose.yml and the Dockerfile stay valid, run what `make demo` runs, and keep the wallet out of
the production image (no Docker engine runs here)."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml

from marketplace.devstack import ENTRY_POINTS
from tests.services import ROOT, require

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


def dockerfile_stages() -> dict[str, list[str]]:
    """Stage name → every instruction that builds it, those of the stages it starts from included."""
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in DOCKERFILE.read_text().replace("\\\n", " ").splitlines():
        line = line.strip()
        start = re.fullmatch(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if start:
            parent, name = start.groups()
            current = [*stages.get(parent, []), line]
            stages[name or f"stage{len(stages)}"] = current
        elif line and not line.startswith("#"):
            current.append(line)
    return stages


def contains(command: list[str], entry: list[str]) -> bool:
    """Whether `entry` appears in `command` as consecutive items (inside `sh -c` strings too)."""
    words = " ".join(command).split()
    return any(words[i : i + len(entry)] == entry for i in range(len(words)))


def test_every_demo_process_is_a_compose_service_running_the_same_entry_point() -> None:
    # given
    services = yaml.safe_load(COMPOSE.read_text())["services"]

    # then the stack's services are all there: the app ones built from the production image, the wallet
    # from the demo one
    assert set(services) == {"wallet", "web", "worker", "beat", "flower", "redis", "postgres"}
    app = [name for name in ENTRY_POINTS if name != "wallet"]
    assert {services[name]["image"] for name in app} == {"ilp-marketplace"}
    assert {services[name]["build"]["target"] for name in app} == {"production"}
    assert services["wallet"]["build"]["target"] == "demo"
    assert services["wallet"]["image"] != "ilp-marketplace"
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


def test_the_production_image_holds_no_wallet() -> None:
    # given the Dockerfile's stages
    stages = dockerfile_stages()
    production, demo = "\n".join(stages["production"]), "\n".join(stages["demo"])

    # then production is the default target (the last stage) and neither copies the wallet nor installs
    # its server dependencies; the demo image has both
    assert list(stages)[-1] == "production"
    assert "testwallet" not in production
    assert re.search(r"^COPY\s+(?:\S+\s+)*testwallet\b", demo, re.MULTILINE)
    assert "[testwallet]" in demo
    assert not re.search(r"^COPY\s+\.\s", production, re.MULTILINE), "COPY . would take testwallet/ along"
