"""Shared plumbing of the route modules: the service container, JSON in, JSON out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from .clients import ClientDirectory
from .faults import FaultInjector
from .formats import json_bytes
from .settlement import Settler
from .state import Store
from .stats import RequestStats

JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class Services:
    """Everything a request handler needs; one per running wallet (``app.state.services``)."""

    store: Store
    directory: ClientDirectory
    settler: Settler
    faults: FaultInjector
    admin_enabled: bool
    http: httpx.AsyncClient | None = None
    stats: RequestStats | None = None


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(body), status_code=status, media_type=JSON_TYPE, headers=headers)


class BodyError(ValueError):
    """The request body is not JSON."""


def parse_json(raw: bytes) -> Any:
    """The parsed body; ``None`` for an empty body; BodyError when it is not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError("body must be valid JSON") from exc
