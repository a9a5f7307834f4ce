"""docker-compose.yml and the Dockerfile stay valid, run what `make demo` runs, hand every setting of .env
to every service, keep the wallet behind the `demo` profile and out of the production image (no Docker
engine runs here: Debian's docker-compose validates and resolves the file without one)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from marketplace.devstack import ENTRY_POINTS
from tests.services import ROOT, require

Completed = subprocess.CompletedProcess[str]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

# Where the marketplace's processes read their environment, and the files only `make demo` runs.
CODE = ("marketplace", "jobs", "worker")
DEMO_RUNNER = {f"marketplace/{name}.py" for name in ("devstack", "demo", "flow", "processes")}
READ = re.compile(
    r"""(?:env_(?:str|int|bool|list)\(|os\.environ\.get\(|os\.environ\[|os\.getenv\()\s*["']([A-Z][A-Z0-9_]*)["']"""
)

APP_SERVICES = {"migrate", "web", "worker", "beat", "flower", "wallet", "demo-data"}
COMPOSE_POSTGRES = "postgres://marketplace:marketplace@127.0.0.1:5433/marketplace"
COMPOSE_REDIS = "redis://127.0.0.1:6380/0"


def variables_the_code_reads() -> set[str]:
    """Every environment variable the marketplace's non-test source reads by name (settings, gunicorn, the
    workers), leaving out what only the `make demo` runner reads."""
    names: set[str] = set()
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in DEMO_RUNNER or path.name.startswith("test_"):
                continue
            names |= set(READ.findall(path.read_text()))
    return names


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


def copied(instructions: list[str]) -> set[str]:
    """The sources of every COPY among `instructions` (flags left out)."""
    sources: set[str] = set()
    for line in instructions:
        words = line.split()
        if words[0].upper() == "COPY":
            sources |= {word for word in words[1:-1] if not word.startswith("--")}
    return sources


def contains(command: list[str], entry: list[str]) -> bool:
    """Whether `entry` appears in `command` as consecutive items (inside `sh -c` strings too)."""
    words = " ".join(command).split()
    return any(words[i : i + len(entry)] == entry for i in range(len(words)))


def env_file(changes: dict[str, str]) -> str:
    """.env.example with the values of `changes` put in place of its own."""
    text = ENV_EXAMPLE.read_text()
    for name, value in changes.items():
        text, count = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.MULTILINE)
        assert count == 1, f"{name} is not a line of .env.example"
    return text


def compose(directory: Path, *args: str, shell: dict[str, str] | None = None) -> Completed:
    """docker-compose run in `directory` with a bare environment: CI exports DATABASE_URL and REDIS_URL,
    which would otherwise win over .env."""
    require(shutil.which("docker-compose") is not None, "docker-compose", "apt-get install docker-compose")
    return subprocess.run(
        ["docker-compose", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=directory,
        env={"PATH": os.environ["PATH"], **(shell or {})},
    )


def resolved(tmp_path: Path, changes: dict[str, str], shell: dict[str, str] | None = None) -> dict[str, Any]:
    """The services as docker-compose resolves them beside a .env made from .env.example with `changes`."""
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text(env_file(changes))
    result = compose(tmp_path, "config", shell=shell)
    assert (result.returncode, result.stderr) == (0, "")
    services: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    return services


def test_every_demo_process_is_a_compose_service_running_the_same_entry_point() -> None:
    # given
    services = yaml.safe_load(COMPOSE.read_text())["services"]

    # then the stack's services are all there: the app ones built from the production image, the wallet
    # from the demo one
    assert set(services) == {*APP_SERVICES, "redis", "postgres"}
    app = [name for name in APP_SERVICES if name != "wallet"]
    assert {services[name]["image"] for name in app} == {"ilp-marketplace"}
    assert {services[name]["build"]["target"] for name in app} == {"production"}
    assert services["wallet"]["build"]["target"] == "demo"
    assert services["wallet"]["image"] == "ilp-marketplace-demo"
    for name, entry in ENTRY_POINTS.items():
        assert contains(services[name]["command"], ["python", *entry]), name


def test_one_container_migrates_and_the_others_start_after_it() -> None:
    # given
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    after_migrate = {"condition": "service_completed_successfully"}

    # then only `migrate` migrates, and every service that uses the database waits until it has finished;
    # the one-shot services are not restarted once done
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    commands = {name: " ".join(service.get("command", [])) for name, service in services.items()}
    assert [name for name, command in commands.items() if "migrate" in command] == ["migrate"]
    for name in ("web", "worker", "beat", "demo-data"):
        assert services[name]["depends_on"]["migrate"] == after_migrate, name
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert {services[name]["restart"] for name in ("migrate", "demo-data")} == {"no"}
    assert {services[name]["restart"] for name in ("web", "worker", "beat", "flower", "wallet")} == {
        "unless-stopped"
    }


def test_the_wallet_and_the_demo_data_run_only_under_the_demo_profile() -> None:
    # given
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    marketplace = {name for name, service in services.items() if "profiles" not in service}

    # then `docker compose up` runs the marketplace alone, and nothing it runs needs the wallet
    assert {name: service["profiles"] for name, service in services.items() if name not in marketplace} == {
        "wallet": ["demo"],
        "demo-data": ["demo"],
    }
    assert marketplace == {"migrate", "web", "worker", "beat", "flower", "redis", "postgres"}
    for name in marketplace:
        assert set(services[name].get("depends_on", {})) <= marketplace, name
        assert "demo_data" not in " ".join(services[name].get("command", [])), name

    # and the demo's data is made once the wallet answers, from the wallet URL the settings hold
    assert services["demo-data"]["command"] == ["python", "manage.py", "demo_data"]
    assert services["demo-data"]["depends_on"]["wallet"] == {"condition": "service_healthy"}
    assert "/_health" in " ".join(services["wallet"]["healthcheck"]["test"])


def test_every_service_of_ours_gets_every_setting_the_code_reads_from_env(tmp_path: Path) -> None:
    # given a .env made from .env.example with a few values changed, and what the code reads
    changes = {
        "LOG_LEVEL": "DEBUG",
        "OP_CA_BUNDLE": "/etc/marketplace/ca.pem",
        "OP_PRIVATE_HOSTS": "rafiki.internal:8443",
        "WEB_CONCURRENCY": "5",
        "FLOWER_BASIC_AUTH": "ops:s3cret",
    }
    read = variables_the_code_reads()
    assert {"DEBUG", "DATABASE_URL", "OP_HTTP_HOSTS", "WEB_CONCURRENCY", "PIPELINE_FAILPOINT"} <= read

    # when docker-compose resolves the file beside it
    services = resolved(tmp_path, changes)

    # then every service built from our images has every variable, the changed ones as written, and the
    # database and broker .env leaves empty are compose's own
    assert {name for name, service in services.items() if "build" in service} == APP_SERVICES
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert sorted(read - set(environment)) == [], name
        assert {key: environment[key] for key in changes} == changes, name
        assert environment["DATABASE_URL"] == COMPOSE_POSTGRES, name
        assert environment["REDIS_URL"] == COMPOSE_REDIS, name
        assert environment["OP_CLIENT_WALLET_ADDRESS"] == "http://127.0.0.1:4000/marketplace", name
        assert environment["OP_HTTP_HOSTS"] == "", name


def test_values_in_env_or_the_shell_win_over_composes_own(tmp_path: Path) -> None:
    # given a .env naming another database, broker and wallet, allowing no plain-http host, and a shell
    # setting the broker again
    changes = {
        "DATABASE_URL": "postgres://app:pw@db.internal:5432/marketplace",
        "REDIS_URL": "redis://cache.internal:6379/2",
        "TESTWALLET_URL": "http://wallet.internal:4000",
        "OP_CLIENT_WALLET_ADDRESS": "https://rafiki.internal:8443/marketplace",
        "OP_KEY_ID": "key-2026",
        "OP_PRIVATE_KEY": "/run/secrets/op.pem",
        "OP_HTTP_HOSTS": "",
        "OP_PRIVATE_HOSTS": "rafiki.internal:8443",
    }
    shell = {"REDIS_URL": "redis://shell.internal:6379/3"}

    # when docker-compose resolves the file
    services = resolved(tmp_path, changes, shell=shell)

    # then every service gets them, the shell's broker over .env's
    expected = {**changes, **shell}
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert {key: environment[key] for key in expected} == expected, name


def test_docker_compose_validates_the_file(tmp_path: Path) -> None:
    # given the file beside a .env copied from .env.example, as the README says
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")

    # when
    plain = compose(tmp_path, "config", "-q")
    demo = compose(tmp_path, "--profile", "demo", "config", "-q")

    # then
    assert (plain.returncode, plain.stderr) == (0, "")
    assert (demo.returncode, demo.stderr) == (0, "")


def test_the_production_image_holds_only_what_runs() -> None:
    # given the Dockerfile's stages
    stages = dockerfile_stages()
    production, demo = "\n".join(stages["production"]), "\n".join(stages["demo"])

    # then production is the default target (the last stage): it copies the apps alone, installs no extras
    # and runs as a user of its own; the demo image adds the wallet and its server dependencies
    assert list(stages)[-1] == "production"
    apps = {"marketplace", "jobs", "payments", "worker"}
    assert copied(stages["production"]) == {"pyproject.toml", "manage.py", *apps}
    assert not re.search(r"testwallet|tests|bench|\[dev|apt-get|build-essential|gcc", production)
    assert re.findall(r"pip install (-e \S+)", production) == ["-e ."]
    assert re.findall(r"^USER\s+(\S+)", production, re.MULTILINE) == ["10001:10001"]
    assert copied(stages["demo"]) - copied(stages["production"]) == {"testwallet"}
    assert "pip install -e '.[testwallet]'" in demo


def test_the_build_context_leaves_out_local_state_and_what_only_the_checkout_needs() -> None:
    # given
    ignored = {line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"}

    # then secrets, local state and the test and benchmark trees stay out; the demo image's wallet stays in
    assert {".git", ".env", ".venv", "var", "tests", "bench", "artifacts", "node_modules"} <= ignored
    assert not {line for line in ignored if "testwallet" in line}
