"""What TaskResult keeps of the pipeline steps: the ones that failed for good, for ops."""

from __future__ import annotations

import pytest
from billiard.einfo import ExceptionInfo
from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError
from django_celery_results.models import TaskResult

from jobs.models import AttemptStatus, PaymentAttempt
from payments import TransportError
from tests.jobs import factories as f
from worker import pipeline, tasks

pytestmark = pytest.mark.django_db


def test_a_step_out_of_retries_is_kept_in_task_results_and_ends_its_attempt() -> None:
    # given an attempt generating its link, whose step ran out of retries on a wallet that never answered
    attempt = f.attempt(f.quote(f.job(f.funder()), f.provider()))
    try:
        raise TransportError("the wallet did not answer")
    except TransportError as exc:
        error, einfo = exc, ExceptionInfo()

    # when Celery calls the task's failure handler
    tasks.generate_link.on_failure(error, "task-1", (str(attempt.pk),), {}, einfo)

    # then ops find the failure, with its traceback, and the funder reads why the link never came
    row = TaskResult.objects.get()
    assert (row.task_id, row.status) == ("task-1", "FAILURE")
    assert "TransportError" in row.traceback
    attempt.refresh_from_db()
    assert (attempt.status, attempt.error, attempt.error_code, attempt.error_detail) == (
        AttemptStatus.FAILED,
        pipeline.GAVE_UP,
        "connection",
        "the wallet did not answer",
    )
    assert PaymentAttempt.objects.count() == 1


def test_a_step_stopped_by_the_marketplaces_own_set_up_tells_the_funder_it_is_not_theirs() -> None:
    # given an attempt generating its link, whose step found the Open Payments settings unusable
    attempt = f.attempt(f.quote(f.job(f.funder()), f.provider()))
    message = "Open Payments is not configured: CA bundle '/nowhere/ca.pem' cannot be used: no such file."
    try:
        raise ImproperlyConfigured(message)
    except ImproperlyConfigured as exc:
        error, einfo = exc, ExceptionInfo()

    # when Celery calls the task's failure handler (the step raised it at once: nothing was retried)
    tasks.generate_link.on_failure(error, "task-1", (str(attempt.pk),), {}, einfo)

    # then the funder reads that the marketplace's set-up is at fault, and ops read which setting
    attempt.refresh_from_db()
    assert (attempt.status, attempt.error, attempt.error_code, attempt.error_detail) == (
        AttemptStatus.FAILED,
        pipeline.NOT_SET_UP,
        "configuration",
        message,
    )


def test_steps_store_no_result_of_their_own() -> None:
    # then every pipeline step leaves its outcome to its attempt (no TaskResult write when it succeeds)
    steps = [tasks.generate_link, tasks.continue_grant, tasks.poll, tasks.cancel_grant]
    assert [step.ignore_result for step in steps] == [True, True, True, True]
    assert tasks.echo.ignore_result is False


@pytest.mark.parametrize("kind", [OperationalError, InterfaceError])
def test_a_step_stopped_by_the_database_going_away_leaves_its_attempt_to_the_reconciler(
    kind: type[Exception],
) -> None:
    # given an attempt generating its link, whose step failed because the database restarted under it
    attempt = f.attempt(f.quote(f.job(f.funder()), f.provider()))
    before = PaymentAttempt.objects.values().get()
    try:
        raise kind("terminating connection due to administrator command")
    except kind as exc:
        error, einfo = exc, ExceptionInfo()

    # when Celery calls the task's failure handler (which must not write: the database may still be away)
    tasks.generate_link.on_failure(error, "task-1", (str(attempt.pk),), {}, einfo)

    # then nothing is recorded: the attempt is still generating, for the reconciler to drive again
    assert PaymentAttempt.objects.values().get() == before
    assert TaskResult.objects.count() == 0
