"""Imports run one way: `payments` stands alone, `worker` drives `jobs` (writing attempts only through
their lease), and `jobs` touches `worker` only to enqueue its tasks (so the web process never calls a
wallet through the pipeline)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports(package: str) -> dict[str, set[str]]:
    """Module path → the top-level modules (and `from X import Y` pairs) it imports, for `package`."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.update(f"{node.module}:{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_payments_imports_nothing_of_the_project_nor_django() -> None:
    # then the Open Payments client can be used (and tested) on its own
    project = ("jobs", "worker", "marketplace", "testwallet", "django", "celery")
    leaks = {
        module: sorted(name for name in names if name.split(".")[0].split(":")[0] in project)
        for module, names in imports("payments").items()
    }
    assert {module: names for module, names in leaks.items() if names} == {}


def test_jobs_imports_worker_only_for_its_tasks() -> None:
    # then the web tier enqueues steps and never runs one (nor calls a wallet through one)
    uses = {
        module: sorted(name for name in names if name.split(".")[0].split(":")[0] == "worker")
        for module, names in imports("jobs").items()
    }
    assert {module: names for module, names in uses.items() if names and names != ["worker:tasks"]} == {}


# A budget has no lease: its steps move it with the state machine's conditional updates.
BUDGET_WRITES = {"jobs.states:budget_transition"}


def test_the_pipeline_writes_attempts_only_through_their_lease() -> None:
    # then no worker module reaches the attempts' state machine (or a lease-less write) directly
    direct = {
        module: sorted(name for name in names if name.startswith("jobs.states") and name not in BUDGET_WRITES)
        for module, names in imports("worker").items()
    }
    assert {module: names for module, names in direct.items() if names} == {}
