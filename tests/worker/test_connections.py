"""A worker keeps its PostgreSQL connections from one task to the next (a new one costs more than a step)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.services import require
from worker.tasks import echo

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def worker_sessions() -> set[tuple[int, object]]:
    """The PostgreSQL sessions open on the test database, other than the test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return set(cursor.fetchall())


def test_a_worker_runs_task_after_task_on_one_database_session(worker) -> None:
    # given a worker process (one child) that has stored the result of one task
    require(connection.vendor == "postgresql", "PostgreSQL", "set DATABASE_URL to a PostgreSQL database")
    ours = worker_sessions()  # this test process's other pooled connections, if any
    echo.delay({"n": 0}).get(timeout=30)
    first = worker_sessions() - ours

    # when it runs five more, each storing its result
    seen = set(first)
    for n in range(1, 6):
        echo.delay({"n": n}).get(timeout=30)
        seen |= worker_sessions() - ours

    # then the sessions opened for the first (one; or two, where the pool's first fill and the first
    # query each open one) served them all and are still open
    assert len(first) in (1, 2)
    assert seen == first == worker_sessions() - ours
