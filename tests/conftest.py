"""Fixtures shared by every test suite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services


@pytest.fixture
def redis_url() -> str:
    """The real Redis the test talks to."""
    return services.require_redis()


@pytest.fixture
def celery_queue(redis_url: str) -> Iterator[str]:
    """A queue of this test's own, so stale messages of other runs never reach its worker."""
    from marketplace.celery import app

    queue = f"test-{uuid.uuid4().hex[:12]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        app.conf.task_default_queue = previous


@pytest.fixture
def worker(transactional_db, celery_queue: str, tmp_path: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A real Celery worker process consuming this test's queue against the test database."""
    from django.db import connection

    with services.celery_worker(
        database=services.database_url(connection.settings_dict),
        queue=celery_queue,
        log=tmp_path / "worker.log",
    ) as process:
        yield process
