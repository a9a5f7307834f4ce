"""Celery tasks: thin, taking attempt ids only; the work is in `worker.pipeline`.

Task names are stable (ops, Flower and the README refer to them):
- `worker.echo`: diagnostic round trip through broker, worker and result store.
- `payments.generate_link`: incoming payment, quote and interactive grant → the payment URL.
- `payments.continue_grant`: after the funder's consent, continue the grant, create the outgoing payment.
- `payments.poll`: follow the outgoing and incoming payments until the job is paid or the attempt fails.
- `payments.cancel_grant`: revoke an attempt's grant at the funder's wallet.
- `payments.reconcile`: beat's safety net for attempts whose messages were lost.
"""

from __future__ import annotations

import logging
import random
import socket
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from celery.contrib.django.task import DjangoTask
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections, transaction

from marketplace.logs import CONTEXT
from payments import OpenPaymentsError
from worker import pipeline, reconciler
from worker.failpoints import duplicate_deliveries

log = logging.getLogger("worker.tasks")

MAX_RETRIES = 8
# Waits asked for by the protocol (continue `wait`, payment not settled yet) are not failures; they are
# bounded by the pipeline's own deadlines, with this as a backstop.
MAX_WAITS = 200


def backoff(retries: int) -> float:
    """Seconds before retry number `retries`: exponential, capped at a minute, with full jitter."""
    return random.uniform(0.5, 1.0) * min(60.0, 2.0**retries)  # noqa: S311 - jitter, not security


class PipelineTask(DjangoTask):  # type: ignore[misc]
    """A pipeline step: idempotent, so it is acknowledged late and redelivered if its worker dies."""

    acks_late = True
    reject_on_worker_lost = True
    max_retries = MAX_RETRIES
    # A step's outcome is its attempt's status. TaskResult keeps, for ops, the steps that failed for good
    # (`on_failure`); a row for every step that did its work would be one more write per step.
    ignore_result = True

    def delay_on_commit(self, *args: Any, **kwargs: Any) -> None:
        """Publishes once the transaction commits. A broker that is down is logged, not raised: the web
        request that started the step has done its part (the attempt row is the outbox) and the reconciler
        re-drives the attempt once Redis is back."""

        def publish() -> None:
            try:
                self.delay(*args, **kwargs)
            except Exception as exc:  # kombu and redis raise many kinds of connection errors
                log.warning(
                    "broker unavailable, %s left to the reconciler: %s", self.name, type(exc).__name__
                )

        transaction.on_commit(publish)

    def run_step(self, step: Callable[[str], pipeline.Next | None], attempt_id: str) -> None:
        """Runs `step`, schedules what it asks for next, and retries transient failures with backoff."""
        try:
            after = step(attempt_id)
        except pipeline.RetryLater as wait:
            raise self.retry(countdown=wait.countdown, max_retries=MAX_WAITS) from None
        except OpenPaymentsError as exc:
            if not pipeline.is_transient(exc):
                raise
            log.info("transient failure, retrying: %s", exc)
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from None
        if after is not None:
            STEPS[after.task].apply_async((attempt_id,), countdown=after.countdown)

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """Out of retries (or a bug): kept in TaskResult; ends an attempt still generating its link (later
        steps wait for the reconciler, since money may already be moving)."""
        self.backend.mark_as_failure(task_id, exc, einfo.traceback if einfo else None, request=self.request)
        pipeline.give_up(str(args[0]), exc)


@shared_task(name="worker.echo")
def echo(payload: dict[str, object]) -> dict[str, object]:
    """Returns its payload with the worker's host name: proves the broker → worker → results path."""
    return {"echo": payload, "worker": socket.gethostname()}


@shared_task(name="payments.generate_link", bind=True, base=PipelineTask)
def generate_link(self: PipelineTask, attempt_id: str) -> None:
    """Creates the incoming payment, quote and grant for the attempt and stores its payment URL."""
    self.run_step(pipeline.generate_link, attempt_id)


@shared_task(name="payments.continue_grant", bind=True, base=PipelineTask)
def continue_grant(self: PipelineTask, attempt_id: str) -> None:
    """Continues the authorized grant and creates the outgoing payment."""
    self.run_step(pipeline.continue_grant, attempt_id)


@shared_task(name="payments.poll", bind=True, base=PipelineTask)
def poll(self: PipelineTask, attempt_id: str) -> None:
    """Checks the payment once and schedules the next check until it is final."""
    self.run_step(pipeline.poll, attempt_id)


@shared_task(name="payments.cancel_grant", bind=True, base=PipelineTask)
def cancel_grant(self: PipelineTask, attempt_id: str) -> None:
    """Revokes the attempt's grant at the funder's wallet (after a cancel, decline or expiry)."""
    self.run_step(pipeline.cancel_grant, attempt_id)


@shared_task(name="payments.reconcile", ignore_result=True)
def reconcile() -> dict[str, int]:
    """Re-enqueues the step of every stale attempt and expires unused payment links."""
    plan = reconciler.reconcile()
    for task_name, attempt_ids in plan.items():
        for attempt_id in attempt_ids:
            STEPS[task_name].delay(attempt_id)
    return {name: len(ids) for name, ids in plan.items()}


@task_prerun.connect
def _connections_in(**_: Any) -> None:
    """Each task starts on a usable database connection, kept across tasks for DATABASE_CONN_MAX_AGE
    (what Django does per web request). Celery's own fixup would close it after every task unless
    CELERY_DB_REUSE_MAX is set, and a new PostgreSQL connection costs more than a whole step."""
    close_old_connections()


@task_prerun.connect
def _log_context_in(task_id: str, task: Task, args: Any = (), **_: Any) -> None:
    """Every log line of a payment task carries its task, attempt and job."""
    fields: dict[str, Any] = {"task_id": task_id, "task_name": task.name}
    if task.name.startswith("payments.") and args:
        # The job is added once the step has loaded the attempt (`pipeline.load`): no query here.
        fields["attempt_id"] = str(args[0])
    CONTEXT.set(fields)


@task_postrun.connect
def _log_context_out(**_: Any) -> None:
    CONTEXT.set({})


STEPS: dict[str, Task] = {
    "generate_link": generate_link,
    "continue_grant": continue_grant,
    "poll": poll,
    "cancel_grant": cancel_grant,
}

# Off unless PIPELINE_DUPLICATE_DELIVERY is set (the chaos suite's duplicate-delivery scenario).
duplicate_deliveries()
