"""Assemble the ASGI application: routes, error answers, fault injection, start-up and shut-down."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from . import admin, auth_server, consent, pages, resource_server, wallet_server
from .clients import ClientDirectory
from .config import Options
from .errors import GnapError, ResourceError
from .faults import FaultInjector, FaultMiddleware
from .replies import Services, json_response
from .settlement import Settler
from .state import Store
from .stats import RequestStats, StatsMiddleware
from .tls import client_context
from .urls import Urls

log = logging.getLogger("testwallet")


def _gnap_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GnapError)
    return json_response(exc.body(), exc.status)


def _resource_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ResourceError)
    headers = None
    if exc.authenticate:
        # As Rafiki: the auth base, without the tenant (docs/protocol-notes.md §6)
        headers = {"WWW-Authenticate": f"GNAP as_uri={request.app.state.services.store.urls.auth_base}"}
    return json_response(exc.body(), exc.status, headers)


def _not_found(request: Request, exc: Exception) -> Response:
    return json_response({"error": {"code": "404", "description": "Not Found"}}, 404)


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


def build_store(options: Options, base_url: str) -> Store:
    """The state for a wallet advertised at ``base_url``: ``--state`` if it exists, else the seed."""
    store = Store(Urls(base_url, options.tenant), options.settings, ilp_prefix=options.ilp_prefix)
    if options.state is not None and options.state.exists():
        store.load(options.state)
    elif options.seed is not None:
        store.load_seed(json.loads(options.seed.read_text()))
    return store


def create_app(options: Options, store: Store, *, trusted_ca: Path | None = None) -> Any:
    """The ASGI app serving ``store``; the fault middleware wraps everything so drops hit the socket.

    ``trusted_ca``: a CA certificate the wallet's own HTTP client trusts besides the public roots (its
    ``--tls`` CA), so it can fetch JWKS from itself and sibling wallets served over https."""
    injector = FaultInjector()
    if options.faults:
        injector.configure(options.faults)
    settler = Settler(store, injector)
    ctx = Services(
        store=store,
        directory=ClientDirectory(store),
        settler=settler,
        faults=injector,
        admin_enabled=options.admin,
        stats=RequestStats(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        verify = client_context(trusted_ca) if trusted_ca is not None else True
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(5.0), follow_redirects=False, verify=verify
        ) as http:
            ctx.http = http
            ctx.directory.http = http
            settler.resume()
            try:
                yield
            finally:
                settled = settler.settle_now()
                if settled:
                    log.info("settled %d pending payment(s) at shutdown", settled)
                if options.state is not None:
                    store.save(options.state)

    # Hot routes first (Starlette tries them in order); the wallet catch-all ``/{name}`` must stay last.
    routes = [
        *auth_server.routes,
        *resource_server.routes,
        *consent.routes,
        Route("/_health", health, methods=["GET"]),
        *admin.routes,
        *pages.routes,
        *wallet_server.routes,
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            GnapError: _gnap_error,
            ResourceError: _resource_error,
            admin.AdminError: admin.admin_error,
            404: _not_found,
        },
        lifespan=lifespan,
    )
    app.state.services = ctx
    assert ctx.stats is not None
    wrapped = StatsMiddleware(FaultMiddleware(app, injector), ctx.stats)
    wrapped.services = ctx  # type: ignore[attr-defined]  # handy for in-process tests
    return wrapped
