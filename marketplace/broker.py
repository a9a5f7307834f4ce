"""The Redis broker transport: kombu's, keeping one redis-py client per channel.

kombu builds a new `redis.Redis` for every publish, every delivery's unacknowledged-message record and
every acknowledgement; each construction fills the client's callback tables and locks, which cost a
worker more CPU per task than the Redis commands themselves. A client only wraps the channel's
connection pool and is safe to share between threads, so one per pool does the same work.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class RedisChannel(redis.Channel):
    """A Redis channel that hands out one synchronous client per connection pool."""

    _shared_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        build = super()._create_client  # type: ignore[misc]  # kombu's stubs leave it out
        if asynchronous:
            return build(asynchronous=True)
        client = self._shared_client
        # A channel that lost its connection builds a new pool; the client follows it.
        if client is None or client.connection_pool is not self.pool:
            client = self._shared_client = build()
        return client


class RedisTransport(redis.Transport):
    """kombu's Redis transport with `RedisChannel`."""

    Channel = RedisChannel
