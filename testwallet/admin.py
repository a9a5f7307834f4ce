"""Admin API for set-up scripts and tests (not Open Payments). Refused with 403 unless ``--admin``.

=======  ====================================  ===================================================
method   path                                  what
=======  ====================================  ===================================================
POST     /_admin/wallets                       create a wallet (seed-entry JSON) → 201
GET      /_admin/wallets/<name>                wallet JSON plus ``balance`` and ``keys``
POST     /_admin/wallets/<name>/keys           add a public JWK → 201 the wallet's JWKS
PUT      /_admin/wallets/<name>/balance        ``{"balance": "12345"}`` → the wallet
GET      /_admin/wallets/<name>/payments       its incoming and outgoing payments, with state
GET|PUT  /_admin/faults                        fault configuration (see testwallet.faults)
DELETE   /_admin/faults                        no faults
GET|PUT  /_admin/settings                      runtime settings (wait, lifetimes, fees, rates…)
POST     /_admin/clock                         ``{"advanceSeconds": 30}``: move the wallet clock
POST     /_admin/settle                        settle every pending payment now
GET      /_admin/state                         the whole state (what ``--state`` saves)
GET      /_admin/stats                         requests per route since start or the last reset
DELETE   /_admin/stats                         the same counts, then reset to zero
=======  ====================================  ===================================================
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .config import Fee, Settings
from .faults import FaultConfigError
from .formats import parse_uint64
from .replies import BodyError, Services, json_response, parse_json, services
from .state import SeedError, jwks_document, validate_jwk
from .views import incoming_payment_view, outgoing_payment_view, wallet_view


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _ctx(request: Request) -> Services:
    ctx = services(request)
    if not ctx.admin_enabled:
        raise AdminError(403, "the admin API is disabled; start the wallet with --admin")
    return ctx


async def _body(request: Request) -> Any:
    try:
        return parse_json(await request.body())
    except BodyError as exc:
        raise AdminError(400, str(exc)) from None


def _wallet_json(ctx: Services, name: str) -> dict[str, Any]:
    wallet = ctx.store.wallets.get(name)
    if wallet is None:
        raise AdminError(404, f"no wallet {name!r}")
    body = wallet_view(ctx.store.urls, wallet)
    body["balance"] = str(wallet.balance)
    body["keys"] = list(wallet.keys)
    return body


async def create_wallet(request: Request) -> Response:
    ctx = _ctx(request)
    try:
        wallet = ctx.store.add_wallet(await _body(request))
    except SeedError as exc:
        raise AdminError(409 if "already exists" in str(exc) else 400, str(exc)) from None
    return json_response(_wallet_json(ctx, wallet.name), 201)


async def get_wallet(request: Request) -> Response:
    return json_response(_wallet_json(_ctx(request), request.path_params["name"]))


async def add_key(request: Request) -> Response:
    ctx = _ctx(request)
    name = request.path_params["name"]
    wallet = ctx.store.wallets.get(name)
    if wallet is None:
        raise AdminError(404, f"no wallet {name!r}")
    try:
        jwk = validate_jwk(await _body(request), name)
    except SeedError as exc:
        raise AdminError(400, str(exc)) from None
    with ctx.store.lock:
        wallet.keys = [key for key in wallet.keys if key["kid"] != jwk["kid"]] + [jwk]
    return json_response(jwks_document(wallet.keys), 201)


async def set_balance(request: Request) -> Response:
    ctx = _ctx(request)
    name = request.path_params["name"]
    wallet = ctx.store.wallets.get(name)
    if wallet is None:
        raise AdminError(404, f"no wallet {name!r}")
    body = await _body(request)
    balance = parse_uint64(body.get("balance")) if isinstance(body, dict) else None
    if balance is None:
        raise AdminError(400, 'body must be {"balance": "<non-negative integer string>"}')
    with ctx.store.lock:
        wallet.balance = balance
    return json_response(_wallet_json(ctx, name))


async def wallet_payments(request: Request) -> Response:
    ctx = _ctx(request)
    name = request.path_params["name"]
    store = ctx.store
    if name not in store.wallets:
        raise AdminError(404, f"no wallet {name!r}")
    with store.lock:
        incoming = []
        for payment in store.incoming.values():
            if payment.wallet == name:
                view = incoming_payment_view(store, payment, methods=False)
                view["client"] = payment.client_id
                incoming.append(view)
        outgoing = []
        for sent in store.outgoing.values():
            if sent.wallet == name:
                view = outgoing_payment_view(store, sent)
                view.update(
                    state=sent.state,
                    failure=sent.failure,
                    client=sent.client_id,
                    grantId=sent.grant_id,
                )
                outgoing.append(view)
    return json_response({"incomingPayments": incoming, "outgoingPayments": outgoing})


async def faults(request: Request) -> Response:
    ctx = _ctx(request)
    if request.method == "PUT":
        try:
            ctx.faults.configure(await _body(request))
        except (FaultConfigError, TypeError, ValueError) as exc:
            raise AdminError(400, str(exc)) from None
    elif request.method == "DELETE":
        ctx.faults.configure({})
    return json_response(ctx.faults.as_json())


def settings_json(settings: Settings) -> dict[str, Any]:
    return {
        "waitSeconds": settings.wait_seconds,
        "tokenLifetimeSeconds": settings.token_lifetime_seconds,
        "interactionExpirySeconds": settings.interaction_expiry_seconds,
        "quoteLifespanSeconds": settings.quote_lifespan_seconds,
        "incomingPaymentMaxExpirySeconds": settings.incoming_payment_max_expiry_seconds,
        "settleDelaySeconds": settings.settle_delay_seconds,
        "autoConsent": settings.auto_consent,
        "jwksCacheSeconds": settings.jwks_cache_seconds,
        "fees": {
            code: {"fixed": str(fee.fixed), "basisPoints": fee.basis_points}
            for code, fee in settings.fees.items()
        },
        "rates": {f"{a}:{b}": str(rate) for (a, b), rate in settings.rates.items()},
    }


_NUMBERS = {
    "waitSeconds": ("wait_seconds", int),
    "tokenLifetimeSeconds": ("token_lifetime_seconds", int),
    "interactionExpirySeconds": ("interaction_expiry_seconds", int),
    "quoteLifespanSeconds": ("quote_lifespan_seconds", float),
    "incomingPaymentMaxExpirySeconds": ("incoming_payment_max_expiry_seconds", int),
    "settleDelaySeconds": ("settle_delay_seconds", float),
    "jwksCacheSeconds": ("jwks_cache_seconds", float),
}


def apply_settings(settings: Settings, body: Any) -> None:
    """Apply a partial ``settings_json`` document; AdminError(400) on anything unknown or invalid."""
    if not isinstance(body, dict):
        raise AdminError(400, "settings must be a JSON object")
    unknown = set(body) - set(_NUMBERS) - {"autoConsent", "fees", "rates"}
    if unknown:
        raise AdminError(400, f"unknown settings: {sorted(unknown)}")
    updates: dict[str, Any] = {}
    for key, (attribute, kind) in _NUMBERS.items():
        if key in body:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise AdminError(400, f"{key} must be a non-negative number")
            updates[attribute] = kind(value)
    if "autoConsent" in body:
        if body["autoConsent"] not in ("accept", "reject", None):
            raise AdminError(400, 'autoConsent must be "accept", "reject" or null')
        updates["auto_consent"] = body["autoConsent"]
    if "fees" in body:
        updates["fees"] = _fees(body["fees"])
    if "rates" in body:
        updates["rates"] = _rates(body["rates"])
    for attribute, value in updates.items():
        setattr(settings, attribute, value)


def _fees(raw: Any) -> dict[str, Fee]:
    if not isinstance(raw, dict):
        raise AdminError(400, 'fees must be {"<assetCode or *>": {"fixed": "50", "basisPoints": 100}}')
    fees = {}
    for code, fee in raw.items():
        fixed = parse_uint64(str(fee.get("fixed", "0"))) if isinstance(fee, dict) else None
        points = fee.get("basisPoints", 0) if isinstance(fee, dict) else None
        if (
            fixed is None
            or not isinstance(points, int)
            or isinstance(points, bool)
            or not 0 <= points <= 10_000
        ):
            raise AdminError(400, f"invalid fee for {code!r}")
        fees[code] = Fee(fixed, points)
    return fees


def _rates(raw: Any) -> dict[tuple[str, str], Fraction]:
    if not isinstance(raw, dict):
        raise AdminError(400, 'rates must be {"USD:EUR": "0.9"}')
    rates = {}
    for pair, value in raw.items():
        source, _, target = str(pair).partition(":")
        try:
            rate = Fraction(str(value))
        except ValueError:
            raise AdminError(400, f"invalid rate for {pair!r}") from None
        if not source or not target or rate <= 0:
            raise AdminError(400, f"invalid rate for {pair!r}")
        rates[(source.upper(), target.upper())] = rate
    return rates


async def settings_route(request: Request) -> Response:
    ctx = _ctx(request)
    if request.method == "PUT":
        apply_settings(ctx.store.settings, await _body(request))
    return json_response(settings_json(ctx.store.settings))


async def clock(request: Request) -> Response:
    ctx = _ctx(request)
    body = await _body(request)
    advance = body.get("advanceSeconds") if isinstance(body, dict) else None
    if isinstance(advance, bool) or not isinstance(advance, int | float) or advance < 0:
        raise AdminError(400, 'body must be {"advanceSeconds": <non-negative number>}')
    with ctx.store.lock:
        ctx.store.clock.offset_ms += int(advance * 1000)
        offset = ctx.store.clock.offset_ms
    return json_response({"offsetSeconds": offset / 1000})


async def settle_now(request: Request) -> Response:
    ctx = _ctx(request)
    return json_response({"settled": ctx.settler.settle_now()})


async def state(request: Request) -> Response:
    return json_response(_ctx(request).store.snapshot())


async def stats(request: Request) -> Response:
    ctx = _ctx(request)
    assert ctx.stats is not None
    counts = ctx.stats.as_json()
    if request.method == "DELETE":
        ctx.stats.reset()
    return json_response(counts)


def admin_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AdminError)
    return json_response({"error": exc.message}, exc.status)


routes = [
    Route("/_admin/wallets", create_wallet, methods=["POST"]),
    Route("/_admin/wallets/{name}", get_wallet, methods=["GET"]),
    Route("/_admin/wallets/{name}/keys", add_key, methods=["POST"]),
    Route("/_admin/wallets/{name}/balance", set_balance, methods=["PUT"]),
    Route("/_admin/wallets/{name}/payments", wallet_payments, methods=["GET"]),
    Route("/_admin/faults", faults, methods=["GET", "PUT", "DELETE"]),
    Route("/_admin/settings", settings_route, methods=["GET", "PUT"]),
    Route("/_admin/clock", clock, methods=["POST"]),
    Route("/_admin/settle", settle_now, methods=["POST"]),
    Route("/_admin/state", state, methods=["GET"]),
    Route("/_admin/stats", stats, methods=["GET", "DELETE"]),
]
