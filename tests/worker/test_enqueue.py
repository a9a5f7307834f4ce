"""Publishing a pipeline step from a web request never fails the request when the broker is down."""

from __future__ import annotations

import logging
from unittest.mock import patch

import pytest
from kombu.exceptions import OperationalError

from worker import tasks

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["generate_link", "continue_grant", "cancel_grant"])
def test_a_step_published_while_the_broker_is_down_is_logged_and_left_to_the_reconciler(
    name: str, django_capture_on_commit_callbacks, caplog: pytest.LogCaptureFixture
) -> None:
    # given a broker that refuses connections (regression: the chaos suite's Redis restart made the wallet's
    # finish callback answer 500 although the attempt was authorized)
    task = getattr(tasks, name)._get_current_object()
    with (
        patch.object(task, "delay", side_effect=OperationalError("Connection refused")) as delay,
        caplog.at_level(logging.WARNING, logger="worker.tasks"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        # when a view publishes the step
        task.delay_on_commit("0b7c1b2e-0000-4000-8000-000000000000")

    # then the publish was tried after commit, nothing was raised, and the log says who takes over
    delay.assert_called_once_with("0b7c1b2e-0000-4000-8000-000000000000")
    assert any("left to the reconciler" in record.getMessage() for record in caplog.records)
