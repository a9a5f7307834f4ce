"""Every command the README shows runs as written.

The commands are the lines of its ```sh blocks and its inline `make …` / `.venv/bin/…` spans. Each one
runs in a fresh clone of the repository (this checkout's `.venv` linked in), except those declared below
with the reason they cannot run inside the test suite and the test that covers them instead. `make`
targets run with `-o .venv/.installed` so they never reinstall into the shared virtualenv.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.services import ROOT
from tests.test_docker_compose import variables_the_code_reads

README = ROOT / "README.md"

# Command → why it is not run here (and what covers it).
NOT_RUN = {
    "make demo": "runs until Ctrl-C; tests/browser walks a fresh clone's `make demo` to a paid job",
    "make test": "runs this very suite",
    "make demo-check": "needs a running `make demo`; tests/browser runs the same walk on its own demo",
    "make flow": "a whole payment (~40 s); tests/marketplace/test_flow.py runs it",
    "make bench": "every benchmark, minutes long",
    "make chaos": "every fault scenario full size (~20 min); tests/chaos/test_chaos_short.py runs each small",
    "make scale": "network namespaces, minutes; tests/scale/test_scale_short.py runs it small",
    "docker compose up": "no Docker engine here; tests/test_docker_compose.py validates the file",
    "docker compose --profile demo up": "no Docker engine here; tests/test_docker_compose.py checks it",
    "WEB_PORT=8001 FLOWER_PORT=5556 WALLET_PORT=4001 make demo": "runs until Ctrl-C, like `make demo`",
    ".venv/bin/python -m payments wallet https://ilp.interledger-test.dev/your-marketplace": (
        "an example address on the public test wallet; this machine is offline"
    ),
    ".venv/bin/python -m payments wallet <address>": "a placeholder for your own address",
}
SECONDS = 120


def readme_commands(text: str) -> list[str]:
    """The commands of the README, in order, once each, comments and continuations removed."""
    commands: list[str] = []
    for block in re.findall(r"^ *```sh\n(.*?)^ *```", text, re.MULTILINE | re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command:
                commands.append(command)
    for span in re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.DOTALL)):
        if span.startswith((".venv/bin/", "make ")) or " make " in span:
            commands.append(span.strip())
    return list(dict.fromkeys(commands))


def test_the_readme_extraction_finds_the_first_screen_commands() -> None:
    # given the README's first screen (up to its first section)
    commands = readme_commands(README.read_text())
    first_screen = README.read_text().split("\n## ", 1)[0]

    # then the two commands and the screenshot are on it, and the screenshot is a small committed PNG
    assert commands[:2] == ["make demo", "make test"]
    assert "![" in first_screen and "(docs/job-paid.png)" in first_screen
    screenshot = ROOT / "docs" / "job-paid.png"
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size < 150_000


def test_every_declared_exception_is_still_in_the_readme() -> None:
    commands = readme_commands(README.read_text())
    assert sorted(set(NOT_RUN) - set(commands)) == []


@pytest.mark.slow
def test_every_other_readme_command_runs_as_written(tmp_path: Path) -> None:
    # given a fresh clone with this checkout's virtualenv
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to(ROOT / ".venv")
    commands = [command for command in readme_commands(README.read_text()) if command not in NOT_RUN]
    assert commands, "the README shows no command to run"

    # when each runs, in order, in its own shell
    failures = []
    for command in commands:
        shell = re.sub(r"^make ", "make -o .venv/.installed ", command)
        done = subprocess.run(
            ["bash", "-c", shell],
            cwd=clone,
            capture_output=True,
            text=True,
            timeout=SECONDS,
            check=False,
        )
        if done.returncode != 0:
            output = done.stdout[-2000:] + done.stderr[-2000:]
            failures.append(f"$ {command}\nexit {done.returncode}\n{output}")

    # then every one succeeded
    assert not failures, "\n\n".join(failures)
    assert (clone / ".env").read_text() == (clone / ".env.example").read_text()
    assert (clone / "keys" / "jwks.json").exists()


def test_the_configuration_table_names_every_variable_the_project_reads() -> None:
    # given the README's configuration table, .env.example and every variable the code reads
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    table = {name for cell in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}
    example = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    read = variables_the_code_reads()

    # then the table has a row for every one of them, and .env.example lists exactly the table's variables
    assert sorted(read - table) == []
    assert sorted(example - table) == []
    assert sorted(table - example) == []
