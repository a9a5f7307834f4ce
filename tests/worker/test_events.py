"""worker.events: each consumer gets every settled event once, in order, from its own cursor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import EventCursor, PaymentEvent
from tests.jobs import factories as f
from worker import events

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen() -> Iterator[dict[str, list[str]]]:
    """Two consumers recording what they were handed, in place of the real ones."""
    got: dict[str, list[str]] = {"first": [], "second": []}
    saved = dict(events.CONSUMERS)
    events.CONSUMERS.clear()
    for name in got:
        events.consumer(name)(lambda event, name=name: got[name].append(event.type))
    yield got
    events.CONSUMERS.clear()
    events.CONSUMERS.update(saved)


def event(job, type_: str, age: float = 10.0) -> PaymentEvent:  # type: ignore[no-untyped-def]
    made = PaymentEvent.objects.create(job=job, type=type_, status=type_.split(".")[1])
    PaymentEvent.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(seconds=age))
    return made


def test_each_consumer_gets_every_settled_event_once_in_order(seen: dict[str, list[str]]) -> None:
    # given three settled events and one written a moment ago
    job = f.job(f.funder())
    for type_ in ("payment.generating", "payment.awaiting_authorization", "payment.authorized"):
        event(job, type_)
    event(job, "payment.processing", age=0)
    # when the dispatcher runs twice
    first, second = events.dispatch(), events.dispatch()
    # then each consumer got the settled three once, in order, and the fresh one waits
    assert (first, second) == ({"first": 3, "second": 3}, {"first": 0, "second": 0})
    assert (
        seen["first"]
        == seen["second"]
        == [
            "payment.generating",
            "payment.awaiting_authorization",
            "payment.authorized",
        ]
    )
    assert sorted(EventCursor.objects.values_list("name", "last_id")) == [
        ("first", PaymentEvent.objects.order_by("id")[2].id),
        ("second", PaymentEvent.objects.order_by("id")[2].id),
    ]


def test_a_consumer_that_fails_reads_its_events_again(seen: dict[str, list[str]]) -> None:
    # given a settled event and a consumer that fails on it once
    job = f.job(f.funder())
    event(job, "payment.generating")
    failures = ["boom"]

    def flaky(_: PaymentEvent) -> None:
        if failures:
            raise RuntimeError(failures.pop())

    events.CONSUMERS["second"] = flaky
    # when the dispatcher runs, fails, and runs again
    with pytest.raises(RuntimeError):
        events.dispatch()
    events.dispatch()
    # then the first consumer had it once, and the failing one's cursor moved only when it succeeded
    assert seen["first"] == ["payment.generating"]
    assert EventCursor.objects.get(name="second").last_id == PaymentEvent.objects.get().id
