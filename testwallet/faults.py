"""Fault injection for the reliability suite: errors, latency, lost responses, slow settlement.

Configuration (``--faults JSON|@file`` or ``PUT /_admin/faults``)::

    {"seed": 7,
     "routes": {"outgoing-payments.create": {"errorRate": 0.2, "errorStatus": 503, "dropRate": 0.1,
                                             "latencyMs": 150, "errorNext": 1, "dropNext": 1},
                "quotes.*": {"latencyMs": 50}},
     "settlementDelaySeconds": 3}

* ``tooFastNext``: the next N requests to the route answer 400 ``too_fast`` (a GNAP continuation asked
  for before the wallet is ready), before any ``errorNext``;
* ``errorNext`` / ``dropNext``: the next N requests to the route fail that way (exact, for tests);
  then ``errorRate`` / ``dropRate`` draw from a ``random.Random`` seeded with ``seed`` and the route
  name, so every run of the same request sequence sees the same faults.
* an error answers ``errorStatus`` (500 by default, or 503) *before* the request is handled: no effect;
* a drop handles the request (its effect is committed) and then aborts the TCP connection without
  sending a byte of the response: the client cannot tell whether it happened;
* ``latencyMs`` delays the request before it is handled;
* ``settlementDelaySeconds`` is added to every settlement (a slow payment).

Route names: ``wallet.get``, ``wallet.jwks``, ``grant.create``, ``grant.continue``, ``grant.cancel``,
``token.rotate``, ``token.revoke``, ``interaction.start``, ``interaction.choose``, ``interaction.finish``,
``incoming-payments.create|list|get|complete``, ``quotes.create|get``,
``outgoing-payments.create|list|get``, ``outgoing-payment-grant.get``; keys may use ``*`` wildcards.
The admin API is never faulted.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern), name)
    for method, pattern, name in [
        ("POST", r"/auth/continue/[^/]+", "grant.continue"),
        ("DELETE", r"/auth/continue/[^/]+", "grant.cancel"),
        ("POST", r"/auth/token/[^/]+", "token.rotate"),
        ("DELETE", r"/auth/token/[^/]+", "token.revoke"),
        ("GET", r"/auth/interact/[^/]+/[^/]+", "interaction.start"),
        ("POST", r"/auth/interact/[^/]+/[^/]+/(?:accept|reject)", "interaction.choose"),
        ("GET", r"/auth/interact/[^/]+/[^/]+/finish", "interaction.finish"),
        ("POST", r"/auth/[^/]+", "grant.create"),
        ("POST", r"/op/[^/]+/incoming-payments", "incoming-payments.create"),
        ("GET", r"/op/[^/]+/incoming-payments", "incoming-payments.list"),
        ("GET", r"/op/[^/]+/incoming-payments/[^/]+", "incoming-payments.get"),
        ("POST", r"/op/[^/]+/incoming-payments/[^/]+/complete", "incoming-payments.complete"),
        ("POST", r"/op/[^/]+/quotes", "quotes.create"),
        ("GET", r"/op/[^/]+/quotes/[^/]+", "quotes.get"),
        ("POST", r"/op/[^/]+/outgoing-payments", "outgoing-payments.create"),
        ("GET", r"/op/[^/]+/outgoing-payments", "outgoing-payments.list"),
        ("GET", r"/op/[^/]+/outgoing-payments/[^/]+", "outgoing-payments.get"),
        ("GET", r"/op/[^/]+/outgoing-payment-grant", "outgoing-payment-grant.get"),
        ("GET", r"/[^/_][^/]*/jwks\.json", "wallet.jwks"),
        ("GET", r"/[^/_][^/]*", "wallet.get"),
    ]
]
_AUTH_PREFIXES = ("grant.", "token.", "interaction.")


def route_name(method: str, path: str) -> str | None:
    """The fault-injection name of an Open Payments route, or None (admin, unknown)."""
    for route_method, pattern, name in _ROUTES:
        if method == route_method and pattern.fullmatch(path):
            return name
    return None


class FaultConfigError(ValueError):
    """A fault configuration that cannot be applied."""


@dataclass
class RouteFaults:
    error_rate: float = 0.0
    error_status: int = 500
    drop_rate: float = 0.0
    latency_ms: int = 0
    error_next: int = 0
    drop_next: int = 0
    too_fast_next: int = 0

    @classmethod
    def parse(cls, name: str, raw: Any) -> RouteFaults:
        if not isinstance(raw, dict):
            raise FaultConfigError(f"faults for {name!r} must be an object")
        known = {"errorRate", "errorStatus", "dropRate", "latencyMs", "errorNext", "dropNext", "tooFastNext"}
        unknown = set(raw) - known
        if unknown:
            raise FaultConfigError(f"unknown fault settings for {name!r}: {sorted(unknown)}")
        faults = cls(
            error_rate=float(raw.get("errorRate", 0.0)),
            error_status=int(raw.get("errorStatus", 500)),
            drop_rate=float(raw.get("dropRate", 0.0)),
            latency_ms=int(raw.get("latencyMs", 0)),
            error_next=int(raw.get("errorNext", 0)),
            drop_next=int(raw.get("dropNext", 0)),
            too_fast_next=int(raw.get("tooFastNext", 0)),
        )
        if faults.error_status not in (500, 503):
            raise FaultConfigError("errorStatus must be 500 or 503")
        if not 0 <= faults.error_rate + faults.drop_rate <= 1:
            raise FaultConfigError("errorRate + dropRate must be within 0..1")
        if min(faults.latency_ms, faults.error_next, faults.drop_next, faults.too_fast_next) < 0:
            raise FaultConfigError("latencyMs, errorNext, dropNext and tooFastNext must not be negative")
        return faults

    def as_json(self) -> dict[str, Any]:
        return {
            "errorRate": self.error_rate,
            "errorStatus": self.error_status,
            "dropRate": self.drop_rate,
            "latencyMs": self.latency_ms,
            "errorNext": self.error_next,
            "dropNext": self.drop_next,
            "tooFastNext": self.too_fast_next,
        }


@dataclass(slots=True)
class Decision:
    latency_s: float = 0.0
    error_status: int | None = None
    too_fast: bool = False
    drop: bool = False


@dataclass
class FaultInjector:
    """The current fault configuration, its random streams and what it has injected."""

    seed: int = 0
    routes: dict[str, RouteFaults] = field(default_factory=dict)
    settlement_delay_s: float = 0.0
    injected: dict[str, dict[str, int]] = field(default_factory=dict)
    _rngs: dict[str, random.Random] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def active(self) -> bool:
        return bool(self.routes)

    def configure(self, raw: dict[str, Any]) -> None:
        """Replace the configuration (see the module docstring); resets random streams and counters."""
        if not isinstance(raw, dict):
            raise FaultConfigError("faults must be a JSON object")
        unknown = set(raw) - {"seed", "routes", "settlementDelaySeconds"}
        if unknown:
            raise FaultConfigError(f"unknown fault settings: {sorted(unknown)}")
        routes_raw = raw.get("routes", {})
        if not isinstance(routes_raw, dict):
            raise FaultConfigError("routes must be an object")
        routes = {name: RouteFaults.parse(name, value) for name, value in routes_raw.items()}
        delay = float(raw.get("settlementDelaySeconds", 0.0))
        if delay < 0:
            raise FaultConfigError("settlementDelaySeconds must not be negative")
        with self._lock:
            self.seed = int(raw.get("seed", 0))
            self.routes = routes
            self.settlement_delay_s = delay
            self.injected = {}
            self._rngs = {}

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "routes": {name: faults.as_json() for name, faults in self.routes.items()},
            "settlementDelaySeconds": self.settlement_delay_s,
            "injected": self.injected,
        }

    def extra_settlement_delay(self) -> float:
        return self.settlement_delay_s

    def _faults_for(self, route: str) -> RouteFaults | None:
        if route in self.routes:
            return self.routes[route]
        for pattern, faults in self.routes.items():
            if fnmatch.fnmatchcase(route, pattern):
                return faults
        return None

    def decide(self, route: str) -> Decision:
        with self._lock:
            faults = self._faults_for(route)
            if faults is None:
                return Decision()
            decision = Decision(latency_s=faults.latency_ms / 1000)
            if faults.too_fast_next:
                faults.too_fast_next -= 1
                decision.error_status, decision.too_fast = 400, True
            elif faults.error_next:
                faults.error_next -= 1
                decision.error_status = faults.error_status
            elif faults.drop_next:
                faults.drop_next -= 1
                decision.drop = True
            elif faults.error_rate or faults.drop_rate:
                rng = self._rngs.setdefault(route, random.Random(f"{self.seed}:{route}"))  # noqa: S311 - test faults
                draw = rng.random()
                if draw < faults.error_rate:
                    decision.error_status = faults.error_status
                elif draw < faults.error_rate + faults.drop_rate:
                    decision.drop = True
            kind = "too_fast" if decision.too_fast else "error" if decision.error_status else None
            kind = kind or ("drop" if decision.drop else None)
            if kind:
                counts = self.injected.setdefault(route, {"error": 0, "drop": 0})
                counts[kind] = counts.get(kind, 0) + 1
            return decision


def _error_body(route: str, status: int) -> bytes:
    if status == 400:
        error = {"code": "too_fast", "description": "injected fault"}
    elif route.startswith(_AUTH_PREFIXES):
        error = {"code": "request_denied", "description": "injected fault"}
    else:
        error = {"code": str(status), "description": "injected fault"}
    return json.dumps({"error": error}).encode()


class FaultMiddleware:
    """Outermost ASGI layer: it sees uvicorn's own ``send``, so a drop can abort the real socket."""

    def __init__(self, app: Any, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.injector.active:
            await self.app(scope, receive, send)
            return
        route = route_name(scope["method"], scope["path"])
        decision = self.injector.decide(route) if route else Decision()
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)
        if decision.error_status is not None and route is not None:
            body = _error_body(route, decision.error_status)
            await send(
                {
                    "type": "http.response.start",
                    "status": decision.error_status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if not decision.drop:
            await self.app(scope, receive, send)
            return

        async def discard(message: dict[str, Any]) -> None:
            return None

        await self.app(scope, receive, discard)  # the effect happens...
        await drop_connection(send)  # ...and the response is lost


class ConnectionDropped(Exception):
    """Raised to the client side when no socket can be aborted (in-process ASGI transports)."""


async def drop_connection(send: Any) -> None:
    """Abort the client's TCP connection without a response (uvicorn's h11/httptools cycles)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropped("fault injection dropped the response")
    transport.abort()
    # let connection_lost run, so uvicorn does not try to answer 500 on the dead connection
    for _ in range(3):
        await asyncio.sleep(0)
