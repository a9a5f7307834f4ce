"""How a step is rescheduled: waits never spend the failure budget; failures back off from their first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery.exceptions import Retry

from payments import TransportError
from payments.safe_http import _within
from worker import pipeline, tasks
from worker.tasks import MAX_FAILURES

ATTEMPT = "7b6f1c2e-0000-4000-8000-000000000001"


@pytest.fixture
def delivery() -> Iterator[None]:
    """The generate_link task as a worker runs it after 20 reschedules (Celery's `retries` is 20)."""
    # is_eager: Celery hands back the retry instead of publishing it, so no broker is needed here.
    tasks.generate_link.push_request(
        id="task-1", called_directly=False, retries=20, is_eager=True, args=[ATTEMPT], kwargs={}
    )
    yield
    tasks.generate_link.pop_request()


def run(outcome: BaseException, failures: int) -> Retry:
    """Runs the task's step handling with a step that raises `outcome`; the retry it asks for."""

    def step(attempt_id: str) -> None:
        raise outcome

    with pytest.raises(Retry) as retry:
        tasks.generate_link.run_step(step, ATTEMPT, failures)
    return retry.value


def test_a_transient_failure_after_twenty_waits_gets_the_first_backoff_step(delivery: None) -> None:
    # given a step that waited 20 times and has failed never
    # when it meets a 503-like transient failure
    retry = run(TransportError("the wallet did not answer"), failures=0)

    # then it is retried as failure 1, after the first backoff step (0.5-1 s with jitter)
    assert retry.sig.kwargs == {"failures": 1}
    assert 0.5 <= float(retry.when) <= 1.0


def test_a_wait_keeps_the_failure_count_and_its_own_countdown(delivery: None) -> None:
    # given a step that has failed 3 times
    # when it is told to wait 2.5 s
    retry = run(pipeline.RetryLater(2.5), failures=3)

    # then it runs again after exactly that wait, still at 3 failures
    assert (retry.sig.kwargs, retry.when) == ({"failures": 3}, 2.5)


def test_the_failure_budget_is_spent_by_failures_alone(delivery: None) -> None:
    # given a step at its last allowed failure
    retry = run(TransportError("down"), failures=MAX_FAILURES - 1)
    assert retry.sig.kwargs == {"failures": MAX_FAILURES}

    # when it fails once more, then it gives up with the wallet's error (the task fails, `on_failure` runs)
    def step(attempt_id: str) -> None:
        raise TransportError("still down")

    with pytest.raises(TransportError, match="still down"):
        tasks.generate_link.run_step(step, ATTEMPT, MAX_FAILURES)


def test_every_wallet_call_of_a_step_ends_within_the_soft_time_limit(delivery: None, settings: Any) -> None:
    # given a soft time limit of 7 s (the thread pool enforces none itself)
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 7
    left: list[float | None] = []

    def step(attempt_id: str) -> None:
        left.append(time_left())

    # when a step runs
    tasks.generate_link.run_step(step, ATTEMPT, 0)

    # then its calls had at most those 7 s, and none once it returned
    assert len(left) == 1 and left[0] is not None and 6 < left[0] <= 7
    assert time_left() is None


def time_left() -> float | None:
    """Seconds the current deadline leaves a wallet call (None: no deadline)."""
    return _within(None, TimeoutError)
