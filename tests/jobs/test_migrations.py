"""The jobs migrations run backwards to zero and forwards again."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_jobs_migrations_are_reversible():
    # when
    call_command("migrate", "jobs", "zero", verbosity=0)
    tables_at_zero = {t for t in connection.introspection.table_names() if t.startswith("jobs_")}
    call_command("migrate", "jobs", verbosity=0)
    # then
    assert tables_at_zero == set()
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    assert {"jobs_apitoken", "jobs_paymentattempt"} <= set(connection.introspection.table_names())
