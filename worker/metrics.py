"""What the workers count for Prometheus (marketplace.metrics): how long each task run took and how it
ended, the runs that asked to run again, and the steps the reconciler sent again."""

from __future__ import annotations

import time
from typing import Any

from celery import Task
from celery.signals import task_postrun, task_prerun, task_retry

from marketplace.metrics import REDRIVES, TASK_RETRIES, TASK_SECONDS

# Task id → when its run started (a dict's single operations are atomic under the thread pool).
_STARTED: dict[str, float] = {}


@task_prerun.connect
def _started(task_id: str, **_: Any) -> None:
    _STARTED[task_id] = time.monotonic()


@task_postrun.connect
def _ended(
    task_id: str, task: Task[..., Any], state: str | None = None, retval: Any = None, **_: Any
) -> None:
    started = _STARTED.pop(task_id, None)
    if started is not None:
        TASK_SECONDS.labels(task.name, (state or "unknown").lower()).observe(time.monotonic() - started)
    if task.name == "payments.reconcile" and isinstance(retval, dict):
        for step, count in retval.items():
            if isinstance(count, int) and count > 0:
                REDRIVES.labels(step).inc(count)


@task_retry.connect
def _retried(sender: Task[..., Any] | None = None, **_: Any) -> None:
    TASK_RETRIES.labels(sender.name if sender is not None else "unknown").inc()
