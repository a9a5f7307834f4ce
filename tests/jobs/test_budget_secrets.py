"""A budget's grant on the real stack (local wallet, Redis, workers): its tokens are sealed in the
database, and no admin page, log line, task argument or TaskResult holds them, nor its nonces, its
interact_ref or its links to the wallet; after the sealing key is rotated, the budget still pays."""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any

import pytest
from celery.signals import before_task_publish
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_celery_results.models import TaskResult

from jobs.models import AttemptStatus, Budget, PaymentAttempt
from tests.jobs.test_budgets_end_to_end import approve, attempt_status, set_budget
from tests.services import wait_until
from tests.worker.conftest import FUNDER_BALANCE, Stack, person, stack  # noqa: F401
from worker import tasks

pytestmark = [pytest.mark.redis, pytest.mark.slow]

SEALED = ("continue_token", "access_token", "access_token_manage")
# Kept in the clear (the finish hash and the grant's continuation need them) but never shown either.
PLAIN = ("client_nonce", "interact_nonce", "interact_ref", "continue_uri", "consent_url")


def grant_of(budget: Budget) -> dict[str, str]:
    """The budget's secrets as the marketplace reads them (in the clear), the empty ones left out."""
    row = Budget.objects.values(*SEALED, *PLAIN).get(pk=budget.pk)
    return {field: value for field, value in row.items() if value}


def sealed_columns(budget: Budget) -> dict[str, str]:
    """The sealed columns as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(SEALED)} FROM jobs_budget WHERE id = %s",  # noqa: S608 - our own names
            [Budget._meta.pk.get_db_prep_value(budget.pk, connection)],
        )
        return dict(zip(SEALED, cursor.fetchone(), strict=True))


def every_table() -> Iterator[tuple[str, str]]:
    """Each table of the database with all its rows, as text."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            yield table, repr(cursor.fetchall())


@contextmanager
def budget_tasks_sent() -> Iterator[list[tuple[str, tuple[Any, ...], dict[str, Any]]]]:
    """The name, arguments and keyword arguments of every budget task this process sends meanwhile."""
    sent: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def record(sender: str, body: Any, **_: Any) -> None:
        if sender.startswith("budgets."):
            args, kwargs, _embed = body
            sent.append((sender, tuple(args), kwargs))

    before_task_publish.connect(record, weak=False)
    try:
        yield sent
    finally:
        before_task_publish.disconnect(record)


def tasks_received(log: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The name and arguments of every task a worker's log says it received."""
    received = []
    for line in log.splitlines():
        if line.startswith("{") and '"celery.worker.strategy"' in line:
            # e.g. {'id': '…', 'name': 'budgets.request_grant', 'args': "('<id>',)", 'kwargs': '{}', 'eta': …}
            task = re.search(r"'name': '([^']+)', 'args': \"([^\"]*)\"", json.loads(line)["data"])
            assert task is not None, line
            received.append((task[1], ast.literal_eval(task[2])))
    return received


def test_a_budgets_grant_is_sealed_at_rest_and_never_shown_logged_or_passed(
    stack: Stack,  # noqa: F811
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a sealing key, the worker's too, and every log line of this process and the worker kept
    old, new, stray = (Fernet.generate_key().decode() for _ in range(3))
    settings.SEALING_KEYS = [old]
    caplog.set_level(logging.DEBUG)
    funder = person("fiona", stack.wallet.wallet_url("fiona"), funder=True)
    provider = person("pavel", stack.wallet.wallet_url("pavel"), provider=True)
    with budget_tasks_sent() as sent, stack.worker(threads=2, SEALING_KEYS=old, LOG_LEVEL="DEBUG"):
        # when the funder sets a budget, consents in their wallet, and a job is paid from it
        budget = set_budget(funder, 10000)
        grant = grant_of(budget)
        first = approve(funder, provider, 3000, 0)
        wait_until(lambda: attempt_status(first) == AttemptStatus.SUCCEEDED, 60, "a budget payment")
        # (its spent figure asked of the wallet with the token, through a task taking the id)
        tasks.refresh_budget_spent.delay(str(budget.pk))
        wait_until(lambda: Budget.objects.filter(pk=budget.pk, spent_value=3000).exists(), 60, "the spent")
    current = grant_of(budget)  # (its access token may have been rotated meanwhile: both are secrets)
    grant |= {f"rotated {field}": value for field, value in current.items() if value not in grant.values()}
    assert PaymentAttempt.objects.values_list("payment_url", "budget_id").get(pk=first.pk) == ("", budget.pk)
    assert set(SEALED) | {"client_nonce", "interact_nonce", "interact_ref", "continue_uri"} <= set(grant)
    assert all(len(value) >= 16 for value in grant.values()), grant  # long enough not to match by chance
    tokens = {field: value for field, value in grant.items() if field.split()[-1] in SEALED}

    # then the database holds the tokens sealed under the key, and in no table in the clear
    columns = sealed_columns(budget)
    for field, value in columns.items():
        assert value and current[field] not in value
        assert Fernet(old).decrypt(value.encode()).decode() == current[field]
    for table, rows in every_table():
        for field, value in tokens.items():
            assert value not in rows, (table, field)
        if table != Budget._meta.db_table:
            for field in PLAIN:
                assert grant.get(field, "\0") not in rows, (table, field)

    # and neither the budget's admin list nor its page shows any of its grant
    staff = Client()
    staff.force_login(User.objects.create_superuser("root", "root@example.com", "a-long-test-password-42"))
    pages = [
        staff.get(reverse("admin:jobs_budget_changelist")),
        staff.get(reverse("admin:jobs_budget_change", args=[budget.pk])),
    ]
    assert [page.status_code for page in pages] == [200, 200]
    assert str(budget.pk) in pages[0].content.decode()
    for page in pages:
        for field, value in grant.items():
            assert value not in page.content.decode(), (page.wsgi_request.path, field)

    # and the budget tasks this process sent took the budget's id alone
    assert {name for name, _, _ in sent} >= {"budgets.request_grant", "budgets.continue_grant"}
    for name, args, kwargs in sent:
        assert (args, kwargs) == ((str(budget.pk),), {}), name

    # when a worker whose key does not open the tokens runs a budget task (a key dropped too early)
    before = TaskResult.objects.count()
    with stack.worker(SEALING_KEYS=stray, LOG_LEVEL="DEBUG"):
        tasks.refresh_budget_spent.delay(str(budget.pk))
        wait_until(lambda: TaskResult.objects.count() > before, 60, "the failed task's TaskResult")

    # then the task failed for good, and its TaskResult holds the budget's id and no secret
    failed = TaskResult.objects.get(task_name="budgets.refresh_spent")
    assert failed.status == "FAILURE"
    assert "Unsealable" in failed.result
    # (django-celery-results keeps the repr of the arguments, JSON-encoded)
    assert ast.literal_eval(json.loads(failed.task_args)) == (str(budget.pk),)
    assert set(ast.literal_eval(json.loads(failed.task_kwargs))) <= {"failures"}
    for row in TaskResult.objects.values():
        for field, value in grant.items():
            assert value not in repr(row), (row["task_name"], field)
    assert Budget.objects.values_list("status", flat=True).get(pk=budget.pk) == Budget.Status.ACTIVE

    # and no log line, of this process or the workers (at DEBUG), holds any of the budget's grant
    logs = {path.name: path.read_text() for path in stack.log_dir.glob("worker-*.log")}
    logs["this process"] = caplog.text + repr([record.__dict__ for record in caplog.records])
    assert len(logs) == 3
    for name, text in logs.items():
        for field, value in grant.items():
            assert value not in text, (name, field)

    # and every task the workers ran (as their logs recorded it) took one id: the budget's or an attempt's
    received = [
        task for name, text in logs.items() if name != "this process" for task in tasks_received(text)
    ]
    assert {name for name, _ in received} >= {
        "budgets.request_grant",
        "budgets.continue_grant",
        "budgets.refresh_spent",
        "payments.generate_link",
    }
    for name, args in received:
        assert args == ((str(budget.pk),) if name.startswith("budgets.") else (str(first.pk),)), name

    # when the sealing key is rotated: a new key first, the old one after it, and everything re-sealed
    settings.SEALING_KEYS = [new, old]
    out = StringIO()
    call_command("reseal", stdout=out)
    assert out.getvalue().splitlines()[-1] == (
        f"Re-sealed {len(columns)} values under the first key of SEALING_KEYS."
    )
    assert grant["access_token"] not in out.getvalue()

    # then the old key can go: the tokens open with the new key alone, and the budget still pays
    settings.SEALING_KEYS = [new]
    for field, value in sealed_columns(budget).items():
        assert value != columns[field]
        assert Fernet(new).decrypt(value.encode()).decode() == grant_of(budget)[field]
    assert {field: grant_of(budget)[field] for field in SEALED} == {field: current[field] for field in SEALED}
    with stack.worker(threads=2, SEALING_KEYS=new):
        second = approve(funder, provider, 3000, 1)
        wait_until(lambda: attempt_status(second) == AttemptStatus.SUCCEEDED, 60, "a payment after rotation")
    assert PaymentAttempt.objects.values_list("payment_url", "budget_id").get(pk=second.pk) == ("", budget.pk)
    assert (stack.wallet.balance("fiona"), stack.wallet.balance("pavel")) == (FUNDER_BALANCE - 6000, 6000)
