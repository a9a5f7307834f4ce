"""Structured log lines carry the job and attempt of the request or task that wrote them."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from marketplace.logs import ContextFilter, JSONFormatter, log_context


def render(record: logging.LogRecord) -> dict[str, object]:
    ContextFilter().filter(record)
    return json.loads(JSONFormatter().format(record))


def make_record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("worker.pipeline", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_line_written_inside_a_log_context_carries_its_fields_as_json() -> None:
    # given / when
    with log_context(job_id=7, attempt_id="a-1"):
        line = render(make_record("payment link ready"))

    # then
    assert {k: line[k] for k in ("level", "logger", "message", "job_id", "attempt_id")} == {
        "level": "INFO",
        "logger": "worker.pipeline",
        "message": "payment link ready",
        "job_id": 7,
        "attempt_id": "a-1",
    }


def test_outside_the_context_the_fields_are_gone_and_explicit_extras_win() -> None:
    # given a context that has ended
    with log_context(job_id=7):
        pass

    # when a line is written with its own extra
    line = render(make_record("hello", attempt_id="explicit"))

    # then
    assert "job_id" not in line
    assert line["attempt_id"] == "explicit"


@pytest.mark.django_db
def test_a_web_request_puts_the_job_of_its_url_into_the_log_context(caplog: pytest.LogCaptureFixture) -> None:
    # given a request for a job URL whose view logs (an unknown attempt's finish callback)
    caplog.set_level(logging.INFO)

    # when
    Client().get("/payments/finish/00000000-0000-0000-0000-000000000001?hash=x&interact_ref=y")

    # then the callback's warning carries the attempt id from the URL
    records = [r for r in caplog.records if r.name == "jobs.views.callback"]
    assert [getattr(r, "attempt_id", None) for r in records] == ["00000000-0000-0000-0000-000000000001"]


@pytest.mark.django_db
def test_a_refused_finish_callback_logs_no_query_string(caplog: pytest.LogCaptureFixture) -> None:
    # given the wallet's finish callback with its secrets in the query (found by the chaos suite: Django's
    # "Bad Request"/"Not Found" line carried the request, query string included)
    url = "/payments/finish/0b7c1b2e-0000-4000-8000-000000000000?hash=SECRET-HASH&interact_ref=SECRET-REF"

    # when it is refused
    with caplog.at_level(logging.INFO):
        assert Client().get(url).status_code == 404

    # then no formatted line carries the hash or the interact_ref, and the path is still there
    lines = [JSONFormatter().format(record) for record in caplog.records]
    assert any("/payments/finish/0b7c1b2e" in line for line in lines)
    assert [line for line in lines if "SECRET" in line] == []
