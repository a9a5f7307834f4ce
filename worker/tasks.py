"""Celery tasks: thin, taking attempt ids only; the work is in `worker.pipeline`.

Task names are stable (ops, Flower and the README refer to them):
- `worker.echo`: diagnostic round trip through broker, worker and result store.
- `payments.generate_link`: incoming payment, quote and interactive grant → the payment URL.
- `payments.continue_grant`: after the funder's consent, continue the grant, create the outgoing payment.
- `payments.poll`: follow the outgoing and incoming payments until the job is paid or the attempt fails.
- `payments.cancel_grant`: revoke an attempt's grant at the funder's wallet.
- `payments.reconcile`: beat's safety net for attempts whose messages were lost.
"""

from __future__ import annotations

import socket

from celery import shared_task


@shared_task(name="worker.echo")
def echo(payload: dict[str, object]) -> dict[str, object]:
    """Returns its payload with the worker's host name: proves the broker → worker → results path."""
    return {"echo": payload, "worker": socket.gethostname()}


@shared_task(name="payments.generate_link", ignore_result=True)
def generate_link(attempt_id: str) -> None:
    """Creates the incoming payment, quote and grant for the attempt and stores its payment URL."""
    from worker import pipeline

    pipeline.generate_link(attempt_id)


@shared_task(name="payments.continue_grant", ignore_result=True)
def continue_grant(attempt_id: str) -> None:
    """Continues the authorized grant and creates the outgoing payment."""
    from worker import pipeline

    pipeline.continue_grant(attempt_id)


@shared_task(name="payments.poll", ignore_result=True)
def poll(attempt_id: str) -> None:
    """Checks the payment once and schedules the next check until it is final."""
    from worker import pipeline

    pipeline.poll(attempt_id)


@shared_task(name="payments.cancel_grant", ignore_result=True)
def cancel_grant(attempt_id: str) -> None:
    """Revokes the attempt's grant at the funder's wallet (after a cancel, decline or expiry)."""
    from worker import pipeline

    pipeline.cancel_grant(attempt_id)
