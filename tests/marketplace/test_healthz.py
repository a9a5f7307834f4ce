"""`/healthz` reports the database, the broker and the workers."""

from __future__ import annotations

import pytest
from django.test import Client

from marketplace.celery import app
from tests.services import free_port

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_healthz_is_200_when_database_broker_and_a_worker_are_up(worker, client: Client) -> None:
    # given a database, Redis and a running worker

    # when
    response = client.get("/healthz")

    # then
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["down"] == []
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"] == {"ok": True, "transport": "redis"}
    assert len(body["checks"]["workers"]["workers"]) == 1


def test_healthz_is_503_naming_the_broker_when_the_broker_url_points_at_a_dead_port(
    redis_url: str, client: Client
) -> None:
    # given a broker URL at a port nothing listens on
    dead = f"redis://127.0.0.1:{free_port()}/0"
    previous = app.conf.broker_url
    app.conf.broker_url = dead
    try:
        # when
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = previous

    # then the broker (and so the workers behind it) are named as down; the database is fine
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["down"] == ["broker", "workers"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert "Error" in body["checks"]["broker"]["error"]
    assert response["Cache-Control"].startswith("max-age=0")
