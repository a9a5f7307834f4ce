"""Thread workers share a pool of PostgreSQL connections and hold one only while they use the database."""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction

from jobs.models import Job
from marketplace.open_payments import release_database
from tests.services import require, run_python

SHOW = (
    "import django, json; django.setup(); from django.conf import settings as s;"
    " d = s.DATABASES['default'];"
    " print(json.dumps([s.DATABASE_POOL_SIZE, d['CONN_MAX_AGE'], d['OPTIONS'].get('pool')]))"
)
POSTGRES = "postgres://postgres@127.0.0.1:5432/marketplace"


def database_settings(prelude: str = "", **env: str) -> list[object]:
    """DATABASE_POOL_SIZE, CONN_MAX_AGE and the pool options, as a fresh process with `env` loads them
    (after running `prelude`)."""
    done = run_python(prelude + SHOW, env, unset=("CELERY_WORKER_POOL", "DATABASE_POOL_SIZE"))
    loaded: list[object] = json.loads(done.stdout)
    return loaded


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": POSTGRES}, [16, 0, {"min_size": 1, "max_size": 16, "timeout": 10}]),
        (
            {"DATABASE_URL": POSTGRES, "DATABASE_POOL_SIZE": "4"},
            [4, 0, {"min_size": 1, "max_size": 4, "timeout": 10}],
        ),
        ({"DATABASE_URL": POSTGRES, "DATABASE_POOL_SIZE": "0"}, [0, 60, None]),
        ({"DATABASE_URL": POSTGRES, "CELERY_WORKER_POOL": "prefork"}, [0, 60, None]),
        ({"DATABASE_URL": "sqlite:////tmp/pool-test.sqlite3"}, [0, 60, None]),
    ],
    ids=["postgres-threads", "sized", "turned-off", "prefork", "sqlite"],
)
def test_only_thread_workers_on_postgresql_pool_their_connections(
    env: dict[str, str], expected: list[object]
) -> None:
    # given / when the settings load / then a pool replaces persistent connections only where it can
    assert database_settings(**env) == expected


def test_the_web_process_never_pools_so_a_request_fails_at_once_while_the_database_is_away() -> None:
    # given the environment of a deployment that pools its workers' connections
    env = {"DATABASE_URL": POSTGRES, "DATABASE_POOL_SIZE": "16"}

    # when gunicorn's configuration is loaded before the settings, as in the web process
    loaded = database_settings("import marketplace.gunicorn; ", **env)

    # then each web thread keeps a persistent connection of its own
    assert loaded == [0, 60, None]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_release_gives_the_connection_back_to_the_pool_but_never_inside_a_transaction() -> None:
    # given a pooled connection in use
    require(connection.vendor == "postgresql", "PostgreSQL", "set DATABASE_URL to a PostgreSQL database")
    require(connection.pool is not None, "a connection pool", "leave DATABASE_POOL_SIZE unset")  # type: ignore[attr-defined]
    connection.ensure_connection()

    # when a wallet call is about to go out inside a transaction / then the connection is kept
    with transaction.atomic():
        Job.objects.count()
        release_database()
        assert connection.connection is not None

    # when it goes out outside one / then the connection is back in the pool
    release_database()
    assert connection.connection is None

    # and the next query takes one from the pool again
    assert Job.objects.count() == 0
    assert connection.connection is not None
