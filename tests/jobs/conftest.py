"""Fixtures of the jobs tests: every task enqueue is replaced by a mock the test can assert on."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from unittest.mock import patch

import pytest

TASKS = ("generate_link", "continue_grant", "poll", "cancel_grant")


@pytest.fixture(autouse=True)
def tasks(request: pytest.FixtureRequest) -> Iterator[SimpleNamespace | None]:
    """`tasks.<name>` is the mock standing in for `worker.tasks.<name>.delay_on_commit`.

    `create=True` keeps these view tests about the views; that the real tasks have `delay_on_commit` is
    test_task_contract.py's job. Tests marked `redis` run the real pipeline, so nothing is patched.
    """
    if request.node.get_closest_marker("redis"):
        yield None
        return
    patches = {name: patch(f"worker.tasks.{name}.delay_on_commit", create=True) for name in TASKS}
    mocks = {name: p.start() for name, p in patches.items()}
    try:
        yield SimpleNamespace(**mocks)
    finally:
        for p in patches.values():
            p.stop()
