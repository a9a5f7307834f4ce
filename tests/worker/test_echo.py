"""The broker → worker → result path, end to end through real processes."""

from __future__ import annotations

import pytest
from django_celery_results.models import TaskResult

from worker.tasks import echo

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_task_sent_through_redis_runs_in_a_worker_process_and_its_result_is_stored(worker) -> None:
    # given a real worker process consuming the test's queue through Redis

    # when a task is sent
    result = echo.delay({"job": 42})

    # then the worker runs it and django-celery-results stores its result in the database
    value = result.get(timeout=30)
    assert value["echo"] == {"job": 42}
    stored = TaskResult.objects.get(task_id=result.id)
    assert stored.status == "SUCCESS"
    assert stored.task_name == "worker.echo"
    assert stored.worker == value["worker"] or stored.worker.endswith(value["worker"])
    assert TaskResult.objects.count() == 1
