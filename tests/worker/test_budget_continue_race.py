"""Two deliveries of `budgets.continue_grant` at once: a grant continues successfully once, so the one that
asks second would be refused and end the budget the first just got. Only one of them asks."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.db import connection

from jobs import services
from jobs.models import Budget
from tests.worker.conftest import Stack, person, stack  # noqa: F401
from worker import budgets

pytestmark = [pytest.mark.redis, pytest.mark.slow]
B = Budget.Status


def authorized_budget(stack: Stack) -> Budget:  # noqa: F811
    """A funder's budget whose consent the wallet gave, its grant not continued yet."""
    funder = person("fiona", stack.wallet.wallet_url("fiona"), funder=True)
    stack.wallet.settings(waitSeconds=0)
    budget = services.budget_create(funder=funder, amount=10000, interval="P1M", per_job_limit=None)
    budgets.request_grant(str(budget.pk))
    budget.refresh_from_db()
    finish = urlsplit(httpx.get(budget.consent_url, follow_redirects=False, timeout=10).headers["location"])
    answer = {key: values[0] for key, values in parse_qs(finish.query).items()}
    consent = {"received_hash": answer["hash"], "interact_ref": answer["interact_ref"]}
    services.budget_finish(budget=budget, result="", by_funder=True, **consent)
    return Budget.objects.get(pk=budget.pk)


def test_a_second_delivery_while_the_first_continues_leaves_the_budget_active(
    stack: Stack,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an authorized budget, and a second delivery of its continuation arriving while the first holds
    # the wallet's answer and has not stored it yet
    budget = authorized_budget(stack)
    assert budget.status == B.AUTHORIZED
    store = budgets.budget_transition
    second: list[BaseException | None] = []

    def second_delivery() -> None:
        try:
            budgets.continue_grant(str(budget.pk))
            second.append(None)
        except BaseException as error:
            second.append(error)
        finally:
            connection.close()

    def first_stores(*args: Any, **fields: Any) -> bool:
        if fields.get("to") == B.ACTIVE and not second:
            other = threading.Thread(target=second_delivery)
            other.start()
            other.join(timeout=30)
        return store(*args, **fields)

    monkeypatch.setattr(budgets, "budget_transition", first_stores)

    # when the first delivery runs
    budgets.continue_grant(str(budget.pk))

    # then the second stepped aside without asking, and the budget is active with its token
    assert second == [None]
    budget.refresh_from_db()
    assert (budget.status, budget.end_reason, budget.continuing_until) == (B.ACTIVE, "", None)
    assert budget.access_token


def test_a_continuation_that_must_wait_lets_the_next_delivery_ask(stack: Stack) -> None:  # noqa: F811
    # given an authorized budget whose wallet answers its next continuation `too_fast`
    budget = authorized_budget(stack)
    stack.wallet.faults({"routes": {"grant.continue": {"tooFastNext": 1}}})

    # when a delivery is told to come back later
    with pytest.raises(budgets.RetryLater):
        budgets.continue_grant(str(budget.pk))

    # then it let go of its hold, so the redelivery may ask at once
    budget.refresh_from_db()
    assert (budget.status, budget.continuing_until) == (B.AUTHORIZED, None)
