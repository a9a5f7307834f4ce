"""Resource server routes: incoming payments, quotes, outgoing payments, grant spent amounts.

Check order, as Rafiki's middleware chain answers: the resource (unknown id → 401), the token
(401/403 with ``WWW-Authenticate``), the OpenAPI request (400: missing signature headers, body/query
shape), the signature against the token's client key (401), then the service rules.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from payments.exceptions import SignatureError

from . import resources
from .access import Authorization, authorize
from .clients import ClientDirectory, ClientUnavailable
from .errors import ResourceError, openapi_error
from .formats import amount
from .models import Grant, Wallet
from .replies import BodyError, Services, json_response, parse_json, services
from .signatures import (
    ReceivedRequest,
    key_id,
    rs_client_unavailable,
    rs_missing_signature,
    rs_signature_error,
    verify,
)
from .validation import INCOMING_PAYMENT_REQUEST, OUTGOING_PAYMENT_REQUEST, QUOTE_REQUEST, Check
from .views import (
    incoming_payment_view,
    outgoing_payment_view,
    page_view,
    public_incoming_payment_view,
    quote_view,
    spent_view,
)


def _client_detail(grant: Grant) -> Any:
    url = ClientDirectory.wallet_url(grant.client)
    return {"walletAddress": url} if url is not None else grant.client


async def _check_signature(ctx: Services, received: ReceivedRequest, grant: Grant) -> None:
    client = _client_detail(grant)
    keyid = key_id(received)
    if keyid is None:
        raise ResourceError(
            401, "Signature validation error: missing keyId in signature input", {"client": client}
        )
    try:
        jwks = await ctx.directory.jwks(grant.client)
    except ClientUnavailable:
        raise rs_client_unavailable(
            client=client, client_url=ClientDirectory.wallet_url(grant.client), keyid=keyid
        ) from None
    try:
        verify(received, jwks)
    except SignatureError as exc:
        raise rs_signature_error(exc, client=client, keyid=keyid, jwks=jwks) from None


async def _authorized(
    request: Request,
    ctx: Services,
    raw: bytes,
    *,
    type_: str,
    action: str,
    identifier: str | None,
    body: Any = None,
    schema: Check | None = None,
) -> Authorization:
    auth = authorize(
        ctx.store, request.headers.get("authorization"), type_=type_, action=action, identifier=identifier
    )
    received = ReceivedRequest.from_scope(request.scope, raw)
    if not received.signed:
        raise rs_missing_signature(received)
    if schema is not None:
        error = schema("body", body)
        if error:
            raise openapi_error(error)
    await _check_signature(ctx, received, auth.grant)
    return auth


def _tenant(request: Request, ctx: Services) -> None:
    if request.path_params["tenant"] != ctx.store.urls.tenant:
        raise ResourceError(404, "Not Found")


async def _json_body(request: Request) -> tuple[bytes, Any]:
    raw = await request.body()
    try:
        body = parse_json(raw)
    except BodyError:
        raise openapi_error("body must be object") from None
    return raw, body


def _wallet_url(body: Any) -> str | None:
    url = body.get("walletAddress") if isinstance(body, dict) else None
    return url if isinstance(url, str) else None


def _local_wallet(ctx: Services, url: str) -> Wallet:
    wallet = ctx.store.wallet_by_url(url)
    if wallet is None:
        raise ResourceError(404, "unknown wallet address")
    return wallet


def _unknown(kind: str, resource_id: str) -> ResourceError:
    # docs/protocol-notes.md §11: an unknown id is a 401 (the wallet address cannot be derived from it)
    return ResourceError(
        401, "Unauthorized", {"description": f"Failed to get wallet address from {kind}", "id": resource_id}
    )


def _find(collection: dict[str, Any], kind: str, resource_id: str) -> Any:
    """The resource with this id, or the RS's answer for an unknown one."""
    resource = collection.get(resource_id)
    if resource is None:
        raise _unknown(kind, resource_id)
    return resource


async def _owned(
    request: Request, ctx: Services, collection: dict[str, Any], kind: str, type_: str, action: str
) -> Any:
    """The resource named in the path, once the caller's token may `action` it and its client owns it."""
    resource_id = request.path_params["id"]
    resource = _find(collection, kind, resource_id)
    auth = await _authorized(
        request,
        ctx,
        await request.body(),
        type_=type_,
        action=action,
        identifier=ctx.store.urls.wallet(resource.wallet),
    )
    if not auth.can_see(resource.client_id):
        raise ResourceError(404, f"{kind.capitalize()} does not exist", {"id": resource_id})
    return resource


async def _listed(
    request: Request, ctx: Services, collection: dict[str, Any], type_: str, view: Any
) -> Response:
    """One page of the caller's own resources on the wallet named by the query (needs `list`)."""
    wallet_address, first, last, cursor = _list_query(request)
    auth = await _authorized(request, ctx, b"", type_=type_, action="list", identifier=wallet_address)
    store = ctx.store
    name = store.urls.wallet_name(_require_wallet_address(wallet_address))
    with store.lock:
        items = [r for r in collection.values() if r.wallet == name and auth.can_see(r.client_id)][::-1]
        page = resources.paginate(items, first=first, last=last, cursor=cursor)
        return json_response(page_view(page.items, view, page))


def _list_query(request: Request) -> tuple[str | None, int | None, int | None, str | None]:
    query = request.query_params

    def number(name: str) -> int | None:
        raw = query.get(name)
        if raw is None:
            return None
        if not raw.isdigit():
            raise openapi_error(f"querystring/{name} must be integer")
        value = int(raw)
        if not 1 <= value <= 100:
            raise openapi_error(f"querystring/{name} must be {'>= 1' if value < 1 else '<= 100'}")
        return value

    first, last, cursor = number("first"), number("last"), query.get("cursor")
    if cursor == "":
        raise openapi_error("querystring/cursor must NOT have fewer than 1 characters")
    if first is not None and last is not None:
        raise ResourceError(400, "first and last cannot both be given")
    if last is not None and cursor is None:
        raise ResourceError(400, "last requires a cursor")
    return query.get("wallet-address"), first, last, cursor


def _require_wallet_address(wallet_address: str | None) -> str:
    if wallet_address is None:
        raise openapi_error("must have required property 'wallet-address'")
    return wallet_address


# --- incoming payments ----------------------------------------------------------------------------


async def create_incoming_payment(request: Request) -> Response:
    ctx = services(request)
    _tenant(request, ctx)
    raw, body = await _json_body(request)
    auth = await _authorized(
        request,
        ctx,
        raw,
        type_="incoming-payment",
        action="create",
        identifier=_wallet_url(body),
        body=body,
        schema=INCOMING_PAYMENT_REQUEST,
    )
    wallet = _local_wallet(ctx, body["walletAddress"])
    payment = resources.create_incoming_payment(
        ctx.store, wallet=wallet, client_id=auth.grant.client_id, body=body
    )
    return json_response(incoming_payment_view(ctx.store, payment, methods=True), 201)


async def list_incoming_payments(request: Request) -> Response:
    ctx = services(request)
    _tenant(request, ctx)
    store = ctx.store
    return await _listed(
        request,
        ctx,
        store.incoming,
        "incoming-payment",
        lambda p: incoming_payment_view(store, p, methods=False),
    )


async def get_incoming_payment(request: Request) -> Response:
    ctx = services(request)
    _tenant(request, ctx)
    store = ctx.store
    if "authorization" not in request.headers:
        payment = _find(store.incoming, "incoming payment", request.path_params["id"])
        return json_response(public_incoming_payment_view(store, payment))
    payment = await _owned(request, ctx, store.incoming, "incoming payment", "incoming-payment", "read")
    with store.lock:
        return json_response(incoming_payment_view(store, payment, methods=True))


async def complete_incoming_payment(request: Request) -> Response:
    ctx = services(request)
    _tenant(request, ctx)
    store = ctx.store
    payment = await _owned(request, ctx, store.incoming, "incoming payment", "incoming-payment", "complete")
    resources.complete_incoming_payment(store, payment)
    return json_response(incoming_payment_view(store, payment, methods=False))


# --- quotes ---------------------------------------------------------------------------------------


async def create_quote(request: Request) -> Response:
    ctx = services(request)
    _tenant(request, ctx)
    raw, body = await _json_body(request)
    auth = await _authorized(
        request,
        ctx,
        raw,
        type_="quote",
        action="create",
        identifier=_wallet_url(body),
        body=body,
        schema=QUOTE_REQUEST,
    )
    wallet = _local_wallet(ctx, body["walletAddress"])
    quote = resources.create_quote(
        ctx.store,
        wallet=wallet,
        client_id=auth.grant.client_id,
        receiver_url=body["receiver"],
        debit=body.get("debitAmount"),
        receive=body.get("receiveAmount"),
    )
    return json_response(quote_view(ctx.store, quote), 201)


async def get_quote(request: Request) -> Response:
    ctx = services(request)
    _tenant(request, ctx)
    quote = await _owned(request, ctx, ctx.store.quotes, "quote", "quote", "read")
    return json_response(quote_view(ctx.store, quote))


# --- outgoing payments ----------------------------------------------------------------------------


async def create_outgoing_payment(request: Request) -> Response:
    ctx = services(request)
    _tenant(request, ctx)
    raw, body = await _json_body(request)
    auth = await _authorized(
        request,
        ctx,
        raw,
        type_="outgoing-payment",
        action="create",
        identifier=_wallet_url(body),
        body=body,
        schema=OUTGOING_PAYMENT_REQUEST,
    )
    wallet = _local_wallet(ctx, body["walletAddress"])
    payment, spent = resources.create_outgoing_payment(ctx.store, wallet=wallet, auth=auth, body=body)
    ctx.settler.schedule(payment.id)
    view = outgoing_payment_view(ctx.store, payment)
    view.update(spent_view((spent.debit, spent.receive), payment))
    return json_response(view, 201)


async def list_outgoing_payments(request: Request) -> Response:
    ctx = services(request)
    _tenant(request, ctx)
    store = ctx.store
    return await _listed(
        request, ctx, store.outgoing, "outgoing-payment", lambda p: outgoing_payment_view(store, p)
    )


async def get_outgoing_payment(request: Request) -> Response:
    ctx = services(request)
    _tenant(request, ctx)
    store = ctx.store
    payment = await _owned(request, ctx, store.outgoing, "outgoing payment", "outgoing-payment", "read")
    with store.lock:
        return json_response(outgoing_payment_view(store, payment))


async def get_outgoing_payment_grant(request: Request) -> Response:
    ctx = services(request)
    _tenant(request, ctx)
    auth = await _authorized(
        request, ctx, await request.body(), type_="outgoing-payment", action="create", identifier=None
    )
    spent = resources.grant_spent_amounts(ctx.store, auth)
    latest = resources.latest_payment_of_grant(ctx.store, auth.grant.id)
    if spent is None or latest is None:
        return json_response({"spentDebitAmount": None, "spentReceiveAmount": None})
    return json_response(
        {
            "spentDebitAmount": amount(spent.debit, *latest.debit_asset),
            "spentReceiveAmount": amount(spent.receive, *latest.receive_asset),
        }
    )


routes = [
    Route("/op/{tenant}/incoming-payments", create_incoming_payment, methods=["POST"]),
    Route("/op/{tenant}/incoming-payments", list_incoming_payments, methods=["GET"]),
    Route("/op/{tenant}/incoming-payments/{id}", get_incoming_payment, methods=["GET"]),
    Route("/op/{tenant}/incoming-payments/{id}/complete", complete_incoming_payment, methods=["POST"]),
    Route("/op/{tenant}/quotes", create_quote, methods=["POST"]),
    Route("/op/{tenant}/quotes/{id}", get_quote, methods=["GET"]),
    Route("/op/{tenant}/outgoing-payments", create_outgoing_payment, methods=["POST"]),
    Route("/op/{tenant}/outgoing-payments", list_outgoing_payments, methods=["GET"]),
    Route("/op/{tenant}/outgoing-payments/{id}", get_outgoing_payment, methods=["GET"]),
    Route("/op/{tenant}/outgoing-payment-grant", get_outgoing_payment_grant, methods=["GET"]),
]
