"""Celery tasks: thin, taking attempt ids only; the work is in `worker.pipeline`.

Task names are stable (ops, Flower and the README refer to them):
- `worker.echo`: diagnostic round trip through broker, worker and result store.
- `payments.generate_link`: incoming payment, quote and interactive grant → the payment URL.
- `payments.continue_grant`: after the funder's consent, continue the grant, create the outgoing payment.
- `payments.poll`: follow the outgoing and incoming payments until the job is paid or the attempt fails.
- `payments.cancel_grant`: revoke a finished attempt's grant at the funder's wallet.
- `payments.reconcile`: beat's safety net for attempts (and budgets) whose messages were lost.
- `budgets.request_grant`: a funder's budget → the link to consent to it in their wallet.
- `budgets.continue_grant`: after that consent, continue the grant: the budget is active.
- `budgets.revoke`: revoke an ended budget's grant at the funder's wallet.
- `budgets.refresh_spent`: store what the wallet says an active budget spent this interval.
- `events.dispatch`: beat's hand-over of new payment events to their consumers (webhooks, emails).
- `webhooks.deliver` / `webhooks.sweep`: one try of a webhook delivery / beat's net for lost ones (both
  defined in `worker.webhooks`).
- `emails.send` / `emails.sweep`: one email about a payment event (`worker.emails`), taking the notice's
  id / beat's net for emails whose message was lost.
- `accounts.password_reset`: the password-reset link for the address typed (`worker.accounts`).
"""

from __future__ import annotations

import logging
import random
import socket
from collections.abc import Callable
from typing import Any

from billiard.einfo import ExceptionInfo
from celery import Task, shared_task
from celery.contrib.django.task import DjangoTask
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import close_old_connections, transaction

from marketplace.errors import DATABASE_AWAY
from marketplace.logs import CONTEXT
from payments import OpenPaymentsError, deadline
from worker import accounts, budgets, emails, events, metrics, pipeline, reconciler, webhooks
from worker.failpoints import duplicate_deliveries

log = logging.getLogger("worker.tasks")

# Retries a step gets for transient failures (timeouts, 5xx, 429), counted from its first failure.
MAX_FAILURES = 8
# Waits (a busy lease, the grant's `wait`, `too_fast`) are not failures: the pipeline's own deadlines bound
# them. This backstop on every reschedule of one step only stops a step that would wait forever.
MAX_RESCHEDULES = 200 + MAX_FAILURES


def backoff(failures: int) -> float:
    """Seconds before the retry that follows failure number `failures + 1`: exponential from one second,
    capped at a minute, with full jitter."""
    return random.uniform(0.5, 1.0) * min(60.0, 2.0**failures)  # noqa: S311 - jitter, not security


class PipelineTask(DjangoTask[..., None]):
    """A pipeline step: idempotent, so it is acknowledged late and redelivered if its worker dies."""

    acks_late = True
    reject_on_worker_lost = True
    max_retries = MAX_RESCHEDULES
    # A step's outcome is its attempt's status. TaskResult keeps, for ops, the steps that failed for good
    # (`on_failure`); a row for every step that did its work would be one more write per step.
    ignore_result = True

    # Celery's own returns None too (the message goes out after the commit); its stub says AsyncResult.
    def delay_on_commit(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
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

    def run_step(self, step: Callable[[str], pipeline.Next | None], attempt_id: str, failures: int) -> None:
        """Runs `step` and schedules what it asks for next. A wait runs it again after the wait, its
        failure count untouched; a transient failure, after a backoff, until MAX_FAILURES retries are
        spent."""
        try:
            # Every wallet call of the step together ends within the soft time limit: the thread pool
            # enforces no time limit itself, and a step must let go well within its lease.
            with deadline(settings.CELERY_TASK_SOFT_TIME_LIMIT):
                after = step(attempt_id)
        except pipeline.RetryLater as wait:
            raise self.retry(kwargs={"failures": failures}, countdown=wait.countdown) from None
        except OpenPaymentsError as exc:
            if not pipeline.is_transient(exc) or failures >= MAX_FAILURES:
                raise
            countdown = backoff(failures)
            log.info(
                "transient failure %d of %d, retrying in %.2fs: %s",
                failures + 1,
                MAX_FAILURES,
                countdown,
                exc,
            )
            raise self.retry(exc=exc, kwargs={"failures": failures + 1}, countdown=countdown) from None
        if after is not None:
            STEPS[after.task].apply_async((attempt_id,), countdown=after.countdown)

    def on_failure(
        self,
        exc: Exception,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        einfo: ExceptionInfo,
    ) -> None:
        """Out of its failure budget (or a bug): kept in TaskResult; ends an attempt still generating its
        link (later steps wait for the reconciler, since money may already be moving). A step that failed
        because the database was away (a restart, a failover) is not the attempt's failure: it is left to
        the reconciler, which re-drives the attempt once the database is back."""
        if isinstance(exc, DATABASE_AWAY):
            # Nothing can be recorded now, and raising from here would lose the task in the thread pool
            # with its message never acknowledged, taking a worker slot for good.
            log.warning("database unavailable, %s left to the reconciler: %s", self.name, type(exc).__name__)
            return
        self.backend.mark_as_failure(task_id, exc, einfo.traceback if einfo else None, request=self.request)
        pipeline.give_up(str(args[0]), exc)


@shared_task(name="worker.echo")
def echo(payload: dict[str, object]) -> dict[str, object]:
    """Returns its payload with the worker's host name: proves the broker → worker → results path."""
    return {"echo": payload, "worker": socket.gethostname()}


def step_task(
    step: Callable[[str], pipeline.Next | None],
    *,
    prefix: str = "payments",
    base: type[PipelineTask] = PipelineTask,
) -> PipelineTask:
    """The Celery task `<prefix>.<step name>`, taking the id of what it works on, that runs `step` (see
    `run_step`)."""

    def run(self: PipelineTask, object_id: str, failures: int = 0) -> None:
        self.run_step(step, object_id, failures)

    run.__name__, run.__doc__ = step.__name__, step.__doc__
    task: PipelineTask = shared_task(name=f"{prefix}.{step.__name__}", bind=True, base=base)(run)
    return task


generate_link = step_task(pipeline.generate_link)
continue_grant = step_task(pipeline.continue_grant)
poll = step_task(pipeline.poll)
cancel_grant = step_task(pipeline.cancel_grant)


class BudgetTask(PipelineTask):
    """A budget step: idempotent like a pipeline step; out of its failure budget, a budget still being
    prepared ends (the funder sets it again), later ones are left to the reconciler."""

    def on_failure(
        self,
        exc: Exception,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        einfo: ExceptionInfo,
    ) -> None:
        if isinstance(exc, DATABASE_AWAY):
            log.warning("database unavailable, %s left to the reconciler: %s", self.name, type(exc).__name__)
            return
        self.backend.mark_as_failure(task_id, exc, einfo.traceback if einfo else None, request=self.request)
        budgets.give_up(str(args[0]), exc)


request_budget_grant = step_task(budgets.request_grant, prefix="budgets", base=BudgetTask)
continue_budget_grant = step_task(budgets.continue_grant, prefix="budgets", base=BudgetTask)
revoke_budget = step_task(budgets.revoke, prefix="budgets", base=BudgetTask)
refresh_budget_spent = step_task(budgets.refresh_spent, prefix="budgets", base=BudgetTask)


@shared_task(name="payments.reconcile", ignore_result=True)
def reconcile() -> dict[str, int]:
    """Re-enqueues the step of every stale attempt and expires unused payment links."""
    plan = reconciler.reconcile()
    for task_name, ids in plan.items():
        for object_id in ids:
            STEPS[task_name].delay(object_id)
    return {name: len(ids) for name, ids in plan.items()}


# The consumers of `events.dispatch` register themselves (and their tasks) when imported, as do the
# Celery signal hooks that count for Prometheus.
EVENT_CONSUMERS = (emails,)
SIGNAL_HOOKS = (metrics,)


@shared_task(name="events.dispatch", ignore_result=True)
def dispatch_events() -> dict[str, int]:
    """Hands the new payment events to their consumers (webhooks, emails…)."""
    return events.dispatch()


# The webhook tasks live in `worker.webhooks`; the admin's resend enqueues through this.
enqueue_webhook = webhooks.enqueue
# The reset page enqueues through this (the task lives in `worker.accounts`).
password_reset = accounts.password_reset


@task_prerun.connect
def _connections_in(**_: Any) -> None:
    """Each task starts on a usable database connection, kept across tasks for DATABASE_CONN_MAX_AGE
    (what Django does per web request). Celery's own fixup would close it after every task unless
    CELERY_DB_REUSE_MAX is set, and a new PostgreSQL connection costs more than a whole step."""
    close_old_connections()


@task_postrun.connect
def _connections_out(**_: Any) -> None:
    """A pooled connection (DATABASE_POOL_SIZE) goes back to the pool when the task ends, so a thread
    waiting for its next task holds none; a persistent one stays unless it is obsolete or broken."""
    close_old_connections()


@task_prerun.connect
def _log_context_in(task_id: str, task: Task[..., Any], args: Any = (), **_: Any) -> None:
    """Every log line of a payment task carries its task, attempt and job."""
    fields: dict[str, Any] = {"task_id": task_id, "task_name": task.name}
    if task.name.startswith("payments.") and args:
        # The job is added once the step has loaded the attempt (`pipeline.load`): no query here.
        fields["attempt_id"] = str(args[0])
    CONTEXT.set(fields)


@task_postrun.connect
def _log_context_out(**_: Any) -> None:
    CONTEXT.set({})


STEPS: dict[str, PipelineTask] = {
    "generate_link": generate_link,
    "continue_grant": continue_grant,
    "poll": poll,
    "cancel_grant": cancel_grant,
    "request_budget_grant": request_budget_grant,
    "continue_budget_grant": continue_budget_grant,
    "revoke_budget": revoke_budget,
    "refresh_budget_spent": refresh_budget_spent,
}

# Off unless PIPELINE_DUPLICATE_DELIVERY is set (the chaos suite's duplicate-delivery scenario).
duplicate_deliveries()
