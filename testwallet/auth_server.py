"""GNAP auth server routes: grant request, continuation, cancel, token rotation and revocation.

Every request is signed by the client; the key comes from the client's JWKS (``<client>/jwks.json``,
fetched over HTTP for foreign clients). Errors are GNAP bodies ``{"error":{"code","description"}}``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from payments.exceptions import SignatureError

from . import grants
from .clients import ClientDirectory, ClientUnavailable
from .errors import GnapError
from .models import AccessToken, Grant
from .replies import BodyError, Services, json_response, parse_json, services
from .signatures import ReceivedRequest, gnap_headers_error, gnap_signature_error, verify
from .validation import continue_request_error, grant_request_error
from .views import access_token_view, approved_grant_view, continue_view, pending_grant_view


def _invalid_request(message: str) -> GnapError:
    # Rafiki's validator answers {"error":{"description"}} without a code; the spec's 400 schemas are a
    # oneOf of coded errors, so we add "invalid_request" to stay valid against it.
    return GnapError(400, "invalid_request", f"Received error validating OpenAPI request: {message}")


async def _check_signature(
    ctx: Services, received: ReceivedRequest, client: Any, *, unknown_key_status: int
) -> None:
    try:
        jwks = await ctx.directory.jwks(client)
    except ClientUnavailable:
        raise GnapError(unknown_key_status, "invalid_client", "could not determine client") from None
    try:
        verify(received, jwks)
    except SignatureError as exc:
        raise gnap_signature_error(exc, unknown_key_status=unknown_key_status) from None


async def create_grant(request: Request) -> Response:
    ctx = services(request)
    store = ctx.store
    if request.path_params["tenant"] != store.urls.tenant:
        raise GnapError(404, "invalid_request", "Not Found")
    raw = await request.body()
    try:
        body = parse_json(raw)
    except BodyError:
        raise _invalid_request("body must be object") from None
    error = grant_request_error(body)
    if error:
        raise _invalid_request(error)
    received = ReceivedRequest.from_scope(request.scope, raw)
    if not received.signed:
        raise gnap_headers_error()
    await _check_signature(ctx, received, body["client"], unknown_key_status=400)

    if not grants.needs_interaction(body):
        grant, token = grants.create_approved_grant(store, body)
        return json_response(approved_grant_view(store.urls, grant, token))

    if not body.get("interact"):
        raise GnapError(400, "invalid_request", "missing required request field 'interact'")
    client_url = ClientDirectory.wallet_url(body["client"])
    document = await ctx.directory.wallet_document(body["client"]) if client_url else None
    public_name = document.get("publicName") if document else None
    if not client_url or not isinstance(public_name, str) or not public_name:
        # Rafiki needs the client's publicName for the consent screen; a JWK client has none.
        raise GnapError(400, "invalid_client", "missing required request field 'client'")
    grant, interaction = grants.create_pending_grant(store, body, client_name=public_name)
    return json_response(
        pending_grant_view(store, grant, interaction, client_name=public_name, client_uri=client_url)
    )


async def _continuation_grant(
    request: Request, ctx: Services, raw: bytes, *, unknown_key_status: int
) -> Grant:
    """Rafiki's ``grantContinueHttpsigMiddleware``: signed, ``GNAP <continue token>``, right client key."""
    received = ReceivedRequest.from_scope(request.scope, raw)
    authorization = received.headers.get("authorization")
    if not received.signed or authorization is None:
        raise gnap_headers_error()
    token = authorization.replace("GNAP ", "", 1)
    grant = grants.grant_for_continuation(ctx.store, request.path_params["id"], token)
    await _check_signature(ctx, received, grant.client, unknown_key_status=unknown_key_status)
    return grant


def _continue_invalid_request(description: str) -> GnapError:
    # The spec allows invalid_request on POST /continue only as a 404; Rafiki answers 400 (validator) or
    # 401 (missing interact_ref) here. We keep the code and description and use the spec's status.
    return GnapError(404, "invalid_request", description)


async def continue_grant(request: Request) -> Response:
    ctx = services(request)
    raw = await request.body()
    try:
        body = parse_json(raw)
    except BodyError:
        raise _continue_invalid_request(
            "Received error validating OpenAPI request: body must be object"
        ) from None
    error = continue_request_error(body) if body is not None else None
    if error:
        raise _continue_invalid_request(f"Received error validating OpenAPI request: {error}")
    grant = await _continuation_grant(request, ctx, raw, unknown_key_status=400)
    if not body:
        outcome = grants.poll(ctx.store, grant)
    else:
        interact_ref = body.get("interact_ref")
        if not interact_ref:
            raise _continue_invalid_request("missing interaction reference")
        outcome = grants.continue_with_ref(ctx.store, grant, interact_ref)
    urls = ctx.store.urls
    if outcome.token is None and outcome.grant.subject is None:
        return json_response({"continue": continue_view(urls, grant, wait=ctx.store.settings.wait_seconds)})
    return json_response(approved_grant_view(urls, outcome.grant, outcome.token))


async def cancel_grant(request: Request) -> Response:
    ctx = services(request)
    grant = await _continuation_grant(request, ctx, await request.body(), unknown_key_status=401)
    grants.revoke_grant(ctx.store, grant)
    return Response(status_code=204)


async def _managed_token(request: Request, ctx: Services) -> tuple[AccessToken, Grant]:
    """Rafiki's ``tokenHttpsigMiddleware``: the manage id names the token; the grant's client signs."""
    received = ReceivedRequest.from_scope(request.scope, await request.body())
    if not received.signed:
        raise gnap_headers_error()
    token, grant = grants.token_for_management(ctx.store, request.path_params["id"])
    await _check_signature(ctx, received, grant.client, unknown_key_status=401)
    return token, grant


async def rotate_token(request: Request) -> Response:
    ctx = services(request)
    token, grant = await _managed_token(request, ctx)
    new_token = grants.rotate_token(ctx.store, token, grant)
    return json_response({"access_token": access_token_view(ctx.store.urls, grant, new_token)})


async def revoke_token(request: Request) -> Response:
    ctx = services(request)
    token, _ = await _managed_token(request, ctx)
    grants.revoke_token(ctx.store, token)
    return Response(status_code=204)


routes = [
    Route("/auth/continue/{id}", continue_grant, methods=["POST"]),
    Route("/auth/continue/{id}", cancel_grant, methods=["DELETE"]),
    Route("/auth/token/{id}", rotate_token, methods=["POST"]),
    Route("/auth/token/{id}", revoke_token, methods=["DELETE"]),
    Route("/auth/{tenant}", create_grant, methods=["POST"]),
]
