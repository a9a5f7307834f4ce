"""The consumers of the payment events (`jobs.models.PaymentEvent`, written with every status change):
each reads the events in order from its own cursor and turns them into its own work (webhook deliveries,
emails…), which it must record idempotently and enqueue after commit.

An event's id is taken when it is written, not when its transaction commits, so a change committing a
moment after a later one could be passed over; events are read only once they are `SETTLE_SECONDS` old,
far longer than the short transaction that writes one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from jobs.models import EventCursor, PaymentEvent

log = logging.getLogger("worker.events")

Consumer = Callable[[PaymentEvent], None]
# Name → what it does with one event; registered by the modules that consume (`consumer`).
CONSUMERS: dict[str, Consumer] = {}
BATCH = 500
SETTLE_SECONDS = 2.0


def consumer(name: str) -> Callable[[Consumer], Consumer]:
    """Registers the decorated function as the consumer `name`."""

    def register(handle: Consumer) -> Consumer:
        CONSUMERS[name] = handle
        return handle

    return register


def dispatch() -> dict[str, int]:
    """Hands every consumer the events it has not read yet (up to BATCH each); how many each got. A
    consumer's cursor moves in the same transaction as the work it records, under its row lock, so two
    dispatchers never hand out the same event twice."""
    settled = timezone.now() - timedelta(seconds=SETTLE_SECONDS)
    handed: dict[str, int] = {}
    for name, handle in CONSUMERS.items():
        EventCursor.objects.get_or_create(name=name)
        with transaction.atomic():
            cursor = EventCursor.objects.select_for_update(skip_locked=True).filter(name=name).first()
            if cursor is None:
                continue  # another dispatcher is at it
            events = list(
                PaymentEvent.objects.filter(id__gt=cursor.last_id, created_at__lte=settled).order_by("id")[
                    :BATCH
                ]
            )
            for event in events:
                handle(event)
            if events:
                cursor.last_id = events[-1].id
                cursor.save(update_fields=["last_id", "updated_at"])
        handed[name] = len(events)
    return handed
