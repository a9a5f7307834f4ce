"""The interaction: ``interact.redirect`` shows a consent page; Accept / Decline finish the interaction.

Rafiki splits this between its auth server and the ASE's identity provider; here one page plays both:

* ``GET  /auth/interact/<id>/<nonce>``            sets the session cookie and shows the page (or, with
  ``--auto-consent accept|reject``, decides at once and goes straight to the finish redirect);
* ``POST /auth/interact/<id>/<nonce>/accept``     the Accept / Decline buttons (``reject``), then 303 to
* ``GET  /auth/interact/<id>/<nonce>/finish``     302 to the client's ``finish.uri`` with ``hash`` and
  ``interact_ref`` (accepted), ``result=grant_rejected`` (declined), or Rafiki's error results; grants
  without ``finish`` (polling) get ``202 Accepted``.
"""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from . import grants
from .errors import GnapError
from .formats import format_money
from .models import Grant, Interaction, InteractionState
from .replies import services
from .state import Store

COOKIE = "testwallet_interaction"


def _lookup(request: Request) -> tuple[Interaction, Grant]:
    found = grants.interaction_for(
        services(request).store, request.path_params["id"], request.path_params["nonce"]
    )
    if found is None:
        raise GnapError(404, "unknown_interaction", "unknown interaction")
    return found


def _finish_response(outcome: grants.FinishOutcome) -> Response:
    if outcome.redirect is None:
        return PlainTextResponse("Accepted", status_code=202)
    return RedirectResponse(outcome.redirect, status_code=302)


async def start(request: Request) -> Response:
    store = services(request).store
    found = grants.interaction_for(store, request.path_params["id"], request.path_params["nonce"])
    if found is None:
        raise GnapError(400, "unknown_interaction", "unknown interaction")
    interaction, grant = found
    if interaction.state != InteractionState.PENDING or grant.revoked:
        if grant.finish:
            return RedirectResponse(
                grants.with_query(
                    grant.finish["uri"], {"result": "invalid_interaction", "message": "invalid interaction"}
                ),
                status_code=302,
            )
        raise GnapError(403, "invalid_interaction", "invalid interaction")
    auto = store.settings.auto_consent
    if auto in ("accept", "reject") and not grants.interaction_expired(store, interaction):
        grants.decide(store, interaction, grant, accept=auto == "accept")
    if auto in ("accept", "reject"):
        return _finish_response(grants.finish(store, interaction, grant, session_nonce=interaction.nonce))
    response = HTMLResponse(consent_page(store, interaction, grant))
    response.set_cookie(
        COOKIE,
        interaction.nonce,
        max_age=store.settings.interaction_expiry_seconds,
        path=f"/auth/interact/{interaction.id}",
        httponly=True,
        samesite="lax",
    )
    return response


async def choose(request: Request) -> Response:
    store = services(request).store
    interaction, grant = _lookup(request)
    choice = request.path_params["choice"]
    if choice not in ("accept", "reject"):
        raise GnapError(400, "invalid_request", "invalid interaction choice")
    finish_url = f"/auth/interact/{interaction.id}/{interaction.nonce}/finish"
    # a second click, or a click after expiry, just goes on to the finish step and its answer
    if interaction.state == InteractionState.PENDING and not grants.interaction_expired(store, interaction):
        grants.decide(store, interaction, grant, accept=choice == "accept")
    return RedirectResponse(finish_url, status_code=303)


async def finish(request: Request) -> Response:
    store = services(request).store
    interaction, grant = _lookup(request)
    outcome = grants.finish(store, interaction, grant, session_nonce=request.cookies.get(COOKIE))
    return _finish_response(outcome)


# --- the page ---------------------------------------------------------------------------------------


def _amount_text(item: dict[str, Any]) -> str:
    limits = item.get("limits") or {}
    for key, label in (("debitAmount", "up to"), ("receiveAmount", "so the receiver gets up to")):
        if key in limits:
            value = limits[key]
            return f"{label} {format_money(int(value['value']), value['assetCode'], value['assetScale'])}"
    return "with no amount limit"


def _receiver_text(store: Store, item: dict[str, Any]) -> str:
    receiver = (item.get("limits") or {}).get("receiver")
    if not receiver:
        return "any receiver"
    payment_id = store.urls.incoming_payment_id(receiver)
    payment = store.incoming.get(payment_id) if payment_id else None
    return f"{store.urls.wallet(payment.wallet)} ({receiver})" if payment else receiver


def consent_page(store: Store, interaction: Interaction, grant: Grant) -> str:
    """The consent screen: who asks, how much (formatted with the asset's scale), to whom."""
    client = escape(grant.client_name or "An application")
    rows = []
    for item in grant.access:
        if item["type"] == "outgoing-payment":
            interval = (item.get("limits") or {}).get("interval")
            rows.append(
                "<li class='access'>"
                f"Send money from <strong class='sender'>{escape(item.get('identifier', ''))}</strong> "
                f"<strong class='amount'>{escape(_amount_text(item))}</strong> "
                f"to <strong class='receiver'>{escape(_receiver_text(store, item))}</strong>"
                + (f" <span class='interval'>every {escape(interval)}</span>" if interval else "")
                + f" <span class='actions'>({escape(', '.join(item['actions']))})</span></li>"
            )
        else:
            rows.append(
                f"<li class='access'>{escape(item['type'])}: {escape(', '.join(item['actions']))}</li>"
            )
    base = f"/auth/interact/{escape(interaction.id)}/{escape(interaction.nonce)}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Approve payment - test wallet</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:3em auto}}
form{{display:inline}} button{{font-size:1.1em;margin-right:1em}}</style>
</head><body>
<h1>Approve a payment</h1>
<p><strong class="client-name">{client}</strong> is asking for permission:</p>
<ul>{"".join(rows)}</ul>
<form method="post" action="{base}/accept"><button type="submit" id="accept">Accept</button></form>
<form method="post" action="{base}/reject"><button type="submit" id="decline">Decline</button></form>
</body></html>"""


routes = [
    Route("/auth/interact/{id}/{nonce}/finish", finish, methods=["GET"]),
    Route("/auth/interact/{id}/{nonce}/{choice:str}", choose, methods=["POST"]),
    Route("/auth/interact/{id}/{nonce}", start, methods=["GET"]),
]
