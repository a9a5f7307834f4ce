"""A clone of this repository is all a user has: no tracked file points outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.services import ROOT

# Written so that this file does not match itself.
OUTSIDE = re.compile(r"\.\./shared|open-payments-spe[c]|rafiki-(?:observed|transcripts)")
ABSOLUTE = re.compile(r"/wor[k]/|/hom[e]/|/User[s]/")
PARENTS = re.compile(r"\.parents\[(\d+)\]")
PARENT_CHAIN = re.compile(r"(?:\.parent\b)+")
DOCUMENTS = ("*.py", "*.md", "*.toml", "*.yml")
SELF = Path(__file__).resolve().relative_to(ROOT)


def tracked(*patterns: str) -> list[Path]:
    """The files a commit holds (tracked, and new ones git does not ignore) matching `patterns`."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *patterns],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    names = dict.fromkeys(name for name in out.split("\0") if name)
    return [Path(name) for name in names if (ROOT / name).is_file()]


def hits(pattern: re.Pattern[str], files: list[Path]) -> list[str]:
    """`path:line: text` for every line of `files` that `pattern` finds something in."""
    found = []
    for path in files:
        for number, line in enumerate((ROOT / path).read_text(errors="replace").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path}:{number}: {line.strip()}")
    return found


def escapes(path: Path, line: str) -> bool:
    """Whether `line` of `path` climbs from `__file__` above the checkout (`parents[n]`, `.parent…`)."""
    depth = len(path.parts)  # parents[depth - 1] is the checkout itself
    if any(int(n) >= depth for n in PARENTS.findall(line)):
        return True
    hops = [chain.count(".parent") for chain in PARENT_CHAIN.findall(line)]
    return "__file__" in line and any(hop > depth for hop in hops)


def test_the_files_are_listed() -> None:
    # when the files are listed / then the checks below look at real ones, this one among them
    names = {str(path) for path in tracked(*DOCUMENTS)}
    assert {"README.md", "pyproject.toml", "docker-compose.yml", str(SELF)} <= names


def test_no_tracked_file_names_material_outside_the_repository() -> None:
    # given every tracked source and document
    files = tracked(*DOCUMENTS)

    # when they are searched for folders and notes that live beside a clone, not in it
    found = hits(OUTSIDE, files)

    # then there are none: protocol facts are in docs/protocol-notes.md, the specs come from tests/node
    assert found == []


def test_no_tracked_python_file_uses_an_absolute_path_or_climbs_out_of_the_checkout() -> None:
    # given every tracked Python file
    files = tracked("*.py")

    # when they are searched for machine-specific paths and parents beyond the repository root
    absolute = hits(ABSOLUTE, files)
    climbing = [
        f"{path}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate((ROOT / path).read_text(errors="replace").splitlines(), 1)
        if path != SELF and escapes(path, line)  # this file's own examples climb on purpose
    ]

    # then there are none
    assert absolute == []
    assert climbing == []


def test_the_climbing_check_knows_where_the_root_is() -> None:
    # given a file two folders deep
    path = Path("tests/testwallet/check.py")

    # then parents[2] is the checkout and parents[3] above it; three .parent hops stay inside, four leave
    assert not escapes(path, "ROOT = Path(__file__).resolve().parents[2]")
    assert escapes(path, 'SPECS = Path(__file__).resolve().parents[3] / "x"')
    assert not escapes(path, "ROOT = Path(__file__).resolve().parent.parent.parent")
    assert escapes(path, "ROOT = Path(__file__).resolve().parent.parent.parent.parent")
