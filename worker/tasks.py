"""Celery tasks. Names are stable: ops and the README refer to them."""

from __future__ import annotations

import socket

from celery import shared_task


@shared_task(name="worker.echo")
def echo(payload: dict[str, object]) -> dict[str, object]:
    """Returns its payload with the worker's host name: proves the broker → worker → results path."""
    return {"echo": payload, "worker": socket.gethostname()}
