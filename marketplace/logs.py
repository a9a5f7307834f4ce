"""Structured logs: one JSON object per line, carrying the job and attempt a line is about.

The web request (from its URL) and the Celery task (from its attempt id argument) set the context once;
every log line written while it runs carries `job_id` and `attempt_id`, whichever logger writes it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from django.http import HttpRequest, HttpResponse

CONTEXT: ContextVar[dict[str, Any]] = ContextVar("log_context", default={})  # noqa: B039 - never mutated
FIELDS = ("job_id", "attempt_id", "task_id", "task_name")
# Attributes every LogRecord has; anything else on a record came in through `extra=`.
STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def add_log_context(**fields: Any) -> Token[dict[str, Any]]:
    """Adds `fields` to every log line written from here to the end of the current context (a task, or
    a `log_context` block)."""
    return CONTEXT.set({**CONTEXT.get(), **{k: v for k, v in fields.items() if v is not None}})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Adds `fields` to every log line written inside the block."""
    token = add_log_context(**fields)
    try:
        yield
    finally:
        CONTEXT.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current log context onto each record (explicit `extra=` values win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in CONTEXT.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JSONFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "job_id", "attempt_id", …}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD and not key.startswith("_"):
                line[key] = _field(value)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def _field(value: Any) -> Any:
    """A log field as JSON; a request is its method and path only: the query string of the wallet's finish
    callback carries `hash` and `interact_ref`, which never go into a log."""
    if isinstance(value, HttpRequest):
        return f"{value.method} {value.path}"
    return str(value) if not isinstance(value, int | float | bool | None) else value


class RequestContextMiddleware:
    """Puts the job and attempt of the requested URL into the log context of the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = CONTEXT.set({})
        try:
            return self.get_response(request)
        finally:
            CONTEXT.reset(token)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        fields: dict[str, str] = {key: str(kwargs[key]) for key in ("job_id", "attempt_id") if key in kwargs}
        if fields:
            CONTEXT.set({**CONTEXT.get(), **fields})
        return None
