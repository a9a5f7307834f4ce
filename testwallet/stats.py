"""Request counts per Open Payments route, for benchmarks: ``GET /_admin/stats``, ``DELETE`` resets.

Counted at the outermost layer, so every request a client sent is counted once, whatever its answer
(faulted, refused, dropped). Admin and health requests are not counted.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from .faults import route_name


class RequestStats:
    """How many requests each route (named as in ``testwallet.faults``) received since the last reset."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, method: str, path: str) -> None:
        if path.startswith(("/_admin", "/_health")):
            return
        name = route_name(method, path) or "other"
        with self._lock:
            self._counts[name] += 1

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            routes = dict(sorted(self._counts.items()))
        return {"requests": sum(routes.values()), "routes": routes}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class StatsMiddleware:
    """Counts each HTTP request, then hands it on unchanged."""

    def __init__(self, app: Any, stats: RequestStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.stats.count(scope["method"], scope["path"])
        await self.app(scope, receive, send)
