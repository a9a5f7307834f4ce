"""The chaos scenarios with small N, in `make test`: every one ends with no duplicate, nothing lost, no
secret in any log, TaskResult or task event, and no 5xx but the 503s answered while its database was
restarting; no job refunded more than it was paid; no budget paying more than its limit. `make chaos` runs
them full size."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests import services

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(1200)]


def test_every_chaos_scenario_ends_with_nothing_lost_or_doubled() -> None:
    services.require(shutil.which("redis-server") is not None, "redis-server", "install redis-server")
    services.require_local_postgres()
    services.require_postgres_server()
    services.require(shutil.which("rabbitmq-server") is not None, "RabbitMQ", "install rabbitmq-server")
    # when every scenario runs with small N on servers and a database of its own
    done = subprocess.run(
        [services.PYTHON, "-m", "tests.chaos", "--short"],
        cwd=services.ROOT,
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )

    # then each printed its line, and each line is clean
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [line["scenario"] for line in lines] == [
        "burst",
        "worker_sigkill",
        "redis_restart",
        "upstream_chaos",
        "duplicate_delivery",
        "postgres_restart",
        "rabbitmq_restart",
        "refunds",
        "budgets",
    ], done.stdout + done.stderr
    for line in lines:
        assert (line["duplicates"], line["lost"], line["leaks"], line["http_5xx"]) == (0, 0, 0, 0), line
        assert line["paid"] >= line["jobs"] * 0.9, line
    sigkill = next(line for line in lines if line["scenario"] == "worker_sigkill")
    assert sigkill["requests"]["kill_points_missed"] == 0, sigkill
    # and requests made while PostgreSQL was down were answered 503 with Retry-After (and made again)
    postgres = next(line for line in lines if line["scenario"] == "postgres_restart")
    assert postgres["http_503_during_outage"] > 0, postgres
    # and refunds under SIGKILLs, lost answers and duplicate deliveries were paid back once each, never
    # more than was paid
    refunds = next(line for line in lines if line["scenario"] == "refunds")
    assert refunds["over_refunded_jobs"] == 0, refunds
    assert refunds["refunded"] >= (refunds["refunded"] + refunds["refunds_unpaid"]) * 0.9 > 0, refunds
    assert refunds["requests"]["kill_points_missed"] == 0, refunds
    assert refunds["answers_dropped"].get("outgoing-payments.create", 0) >= 2, refunds
    # and funders racing for the last of their budgets, under SIGKILLs, lost answers and duplicate
    # deliveries, were paid from the budget as many times as it fits, never above its limit (in our books
    # or in the wallet's), the rest through the link; every approval paid
    budgets = next(line for line in lines if line["scenario"] == "budgets")
    assert (budgets["over_limit_funders"], budgets["wallet_over_limit_funders"]) == (0, 0), budgets
    assert (budgets["budget_short_funders"], budgets["budget_records_off_funders"]) == (0, 0), budgets
    assert budgets["paid"] == budgets["paid_from_budget"] + budgets["paid_by_link_after_fallback"], budgets
    assert budgets["paid_from_budget"] > 0 and budgets["fallbacks"] > 0, budgets
    assert budgets["requests"]["kill_points_missed"] == 0, budgets
    assert budgets["answers_dropped"].get("outgoing-payments.create", 0) >= 2, budgets
    assert done.returncode == 0, done.stderr
