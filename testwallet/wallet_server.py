"""Wallet-address server: ``GET /<name>`` (wallet JSON) and ``GET /<name>/jwks.json`` (its keys)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .replies import json_response, services
from .state import jwks_document
from .views import wallet_view


def _not_found(url: str) -> Response:
    # docs/protocol-notes.md §1: 404 {"error":{"code":"404","description":"Could not get wallet address",...}}
    return json_response(
        {
            "error": {
                "code": "404",
                "description": "Could not get wallet address",
                "details": {"walletAddressUrl": url},
            }
        },
        404,
    )


async def get_wallet(request: Request) -> Response:
    store = services(request).store
    name = request.path_params["name"]
    wallet = store.wallets.get(name)
    if wallet is None:
        return _not_found(store.urls.wallet(name))
    return json_response(wallet_view(store.urls, wallet))


async def get_jwks(request: Request) -> Response:
    store = services(request).store
    name = request.path_params["name"]
    wallet = store.wallets.get(name)
    if wallet is None:
        return _not_found(store.urls.wallet(name))
    return json_response(jwks_document(wallet.keys))


routes = [
    Route("/{name}/jwks.json", get_jwks, methods=["GET"]),
    Route("/{name}", get_wallet, methods=["GET"]),
]
