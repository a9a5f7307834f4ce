"""What the web layer needs of `worker.tasks`: each task it enqueues has Celery's `delay_on_commit`."""

from __future__ import annotations

import pytest

from worker import tasks


@pytest.mark.parametrize("name", ["generate_link", "continue_grant", "cancel_grant"])
def test_the_tasks_the_views_enqueue_can_wait_for_the_commit(name):
    # given
    task = getattr(tasks, name)
    # then
    assert callable(getattr(task, "delay_on_commit", None)), (
        f"worker.tasks.{name} has no delay_on_commit: its base class must derive from "
        "celery.contrib.django.task.DjangoTask"
    )
