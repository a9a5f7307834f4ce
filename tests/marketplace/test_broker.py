"""The Redis transport keeps one redis-py client per channel: the same messages, far less work per task."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from kombu import Connection, Consumer, Exchange, Producer, Queue

from marketplace.broker import RedisTransport
from tests.services import require_redis, run_python

MESSAGES = 40


@pytest.fixture
def clients_built(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every `redis.Redis` built from now on."""
    built: list[object] = []
    original = redis.Redis.__init__

    def counting(self: redis.Redis, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    return built


@pytest.fixture
def queue() -> Iterator[Queue]:
    """A queue of its own on the machine's Redis, deleted afterwards."""
    url = require_redis()
    name = f"test-broker-{secrets.token_hex(4)}"
    yield Queue(name, Exchange(name, type="direct"), routing_key=name)
    redis.Redis.from_url(url).delete(name, f"_kombu.binding.{name}")


def send_and_take(transport: Any, queue: Queue) -> tuple[list[int], int]:
    """Publishes MESSAGES messages, then consumes and acknowledges each: the bodies received, in order,
    and how many of them Redis still holds as unacknowledged."""
    received: list[int] = []
    tags: list[str] = []
    with Connection(require_redis(), transport=transport) as connection:
        sending = connection.default_channel
        producer = Producer(sending, exchange=queue.exchange, routing_key=queue.routing_key)
        queue.bind(sending).declare()
        for n in range(MESSAGES):
            producer.publish({"n": n}, serializer="json")

        def take(body: dict[str, int], message: Any) -> None:
            received.append(body["n"])
            tags.append(message.delivery_tag)
            message.ack()

        channel: Any = connection.channel()
        with Consumer(channel, [queue], callbacks=[take], accept=["json"]):
            while len(received) < MESSAGES:
                connection.drain_events(timeout=5)
        unacked = sum(channel.client.hexists(channel.unacked_key, tag) for tag in tags)
    return received, unacked


def test_a_channel_builds_one_client_for_every_publish_delivery_and_ack(
    clients_built: list[object], queue: Queue
) -> None:
    # given the project's Redis transport
    # when 40 messages are published, delivered and acknowledged
    received, unacked = send_and_take(RedisTransport, queue)

    # then each arrives once, in order, nothing is left unacknowledged, and each of the two channels
    # built its synchronous client once (besides the one client each keeps for its blocking reads)
    assert received == list(range(MESSAGES))
    assert unacked == 0
    assert len(clients_built) == 4


def test_kombus_own_transport_builds_a_client_for_each_of_them(
    clients_built: list[object], queue: Queue
) -> None:
    # given kombu's stock Redis transport
    # when the same messages go through it
    received, unacked = send_and_take("redis", queue)

    # then the result is the same, at the cost of a new client per publish, per delivery and per ack
    assert received == list(range(MESSAGES))
    assert unacked == 0
    assert len(clients_built) > 3 * MESSAGES


def test_a_channel_whose_pool_was_rebuilt_uses_a_client_of_the_new_pool(queue: Queue) -> None:
    # given a channel that handed out its client
    with Connection(require_redis(), transport=RedisTransport) as connection:
        channel: Any = connection.channel()
        first = channel._create_client()

        # when its connection is lost and its pools are built again
        channel._disconnect_pools()
        second = channel._create_client()

        # then the client it hands out now is a new one, on the new pool, and it is kept
        assert second is not first
        assert second.connection_pool is channel.pool
        assert channel._create_client() is second
        assert second.ping() is True


@pytest.mark.parametrize(
    ("url", "transport"),
    [
        ("redis://127.0.0.1:6379/0", "marketplace.broker:RedisTransport"),
        ("rediss://127.0.0.1:6380/0", "marketplace.broker:RedisTransport"),
        ("amqp://guest:guest@127.0.0.1:5672//", "None"),
        ("filesystem://", "None"),
    ],
)
def test_the_redis_transport_is_chosen_for_redis_urls_only(url: str, transport: str) -> None:
    # given / when the settings load with the broker URL
    done = run_python(
        "from marketplace.celery import app; print(app.conf.broker_transport)", {"CELERY_BROKER_URL": url}
    )

    # then
    assert done.stdout.strip() == transport
