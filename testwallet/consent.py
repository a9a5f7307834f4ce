"""The interaction: ``interact.redirect`` shows a consent page; Accept / Decline finish the interaction.

Rafiki splits this between its auth server and the ASE's identity provider; here one page plays both:

* ``GET  /auth/interact/<id>/<nonce>``            sets the session cookie and shows the page (or, with
  ``--auto-consent accept|reject``, decides at once and goes straight to the finish redirect);
* ``POST /auth/interact/<id>/<nonce>/accept``     the Accept / Decline buttons (``reject``), then 303 to
* ``GET  /auth/interact/<id>/<nonce>/finish``     302 to the client's ``finish.uri`` with ``hash`` and
  ``interact_ref`` (accepted), ``result=grant_rejected`` (declined), or Rafiki's error results; grants
  without ``finish`` (polling) get ``202 Accepted``.

Opening the consent URL again after deciding is Rafiki's ``result=invalid_interaction`` redirect, except
for the browser that decided (it holds the session cookie): it sees "Already approved" / "Already
declined" and a link on to the finish step. The pages are never cached, so Back does not show a stale
Accept button.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from . import grants, pages
from .errors import GnapError
from .formats import format_money, format_rate
from .models import Grant, IncomingPayment, Interaction, InteractionState, Wallet
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


def _invalid_interaction(grant: Grant) -> Response:
    """Rafiki's answer to opening a decided (or revoked) interaction: the client hears it is invalid."""
    if grant.finish:
        return RedirectResponse(
            grants.with_query(
                grant.finish["uri"], {"result": "invalid_interaction", "message": "invalid interaction"}
            ),
            status_code=302,
        )
    raise GnapError(403, "invalid_interaction", "invalid interaction")


def _decided_here(request: Request, store: Store, interaction: Interaction) -> bool:
    """Whether the browser that decided this interaction (it holds the session cookie) is back, say with
    Back after the payment: it is shown its decision instead of Rafiki's redirect, even once the client
    used the grant and revoked it (the decision was still made), until the interaction's time is up."""
    return (
        interaction.state != InteractionState.PENDING
        and request.cookies.get(COOKIE) == interaction.nonce
        and not grants.interaction_expired(store, interaction)
    )


async def start(request: Request) -> Response:
    store = services(request).store
    found = grants.interaction_for(store, request.path_params["id"], request.path_params["nonce"])
    if found is None:
        raise GnapError(400, "unknown_interaction", "unknown interaction")
    interaction, grant = found
    if interaction.state != InteractionState.PENDING or grant.revoked:
        if _decided_here(request, store, interaction):
            return pages.html_response(decided_page(interaction, grant))
        return _invalid_interaction(grant)
    auto = store.settings.auto_consent
    if auto in ("accept", "reject") and not grants.interaction_expired(store, interaction):
        grants.decide(store, interaction, grant, accept=auto == "accept")
    if auto in ("accept", "reject"):
        return _finish_response(grants.finish(store, interaction, grant, session_nonce=interaction.nonce))
    response = pages.html_response(consent_page(store, interaction, grant))
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


# --- the pages ---------------------------------------------------------------------------------------

_INTERVALS = {"P1D": "every day", "P1W": "every week", "P1M": "every month", "P1Y": "every year"}
_SEPARATOR = '<span aria-hidden="true"> · </span>'
_RESOURCES = {
    "incoming-payment": "incoming payments",
    "outgoing-payment": "outgoing payments",
    "quote": "quotes",
}


@dataclass(frozen=True, slots=True)
class _Party:
    """A wallet as the page names it: its public name (else its address) and its address."""

    name: str
    address: str
    wallet: Wallet | None = None

    def html(self, css_class: str) -> str:
        """``<strong class=...>name</strong>``, then the address in brackets when the name is not it."""
        name = f'<strong class="{css_class}">{escape(self.name)}</strong>'
        if self.name == self.address:
            return name
        return f'{name} <span class="address">({escape(self.address)})</span>'


def _party(store: Store, address: str) -> _Party:
    wallet = store.wallet_by_url(address)
    name = wallet.public_name if wallet is not None and wallet.public_name else address
    return _Party(name, address, wallet)


def _money(amount: dict[str, Any]) -> str:
    return format_money(int(amount["value"]), str(amount["assetCode"]), int(amount["assetScale"]))


def interval_text(interval: str) -> str:
    """``R/2026-12-01T00:00:00Z/P1M`` as "every month" (also day, week, year); any other interval as is."""
    repeat, _, duration = interval.rpartition("/")
    if repeat.count("/") == 1 and repeat.startswith("R/"):
        return _INTERVALS.get(duration.upper(), interval)
    return interval


def _amount_text(limits: dict[str, Any]) -> str:
    """The amount limit in words: "up to $27.50" (debit or receive amount), else "any amount"."""
    for key in ("debitAmount", "receiveAmount"):
        if key in limits:
            return f"up to {_money(limits[key])}"
    return "any amount"


def _incoming(store: Store, receiver: object) -> IncomingPayment | None:
    payment_id = store.urls.incoming_payment_id(receiver)
    return store.incoming.get(payment_id) if payment_id else None


def _purpose(payment: IncomingPayment | None) -> str:
    description = (payment.metadata or {}).get("description") if payment else None
    if not isinstance(description, str) or not description.strip():
        return ""
    return f' for <strong class="purpose">{escape(description)}</strong>'


def _exchange(
    store: Store, limits: dict[str, Any], sender: _Party, payee: _Party, payment: IncomingPayment
) -> str:
    """What each side pays and gets, and the rate, when the payee's asset is not the sender's."""
    if sender.wallet is None or payee.wallet is None or sender.wallet.asset_code == payee.wallet.asset_code:
        return ""
    parts = []
    if "debitAmount" in limits:
        parts.append(f'<span class="you-pay">You pay up to {escape(_money(limits["debitAmount"]))}</span>')
    payee_asset = (payee.wallet.asset_code, payee.wallet.asset_scale)
    if payment.incoming_amount is not None:
        receives = format_money(payment.incoming_amount, *payee_asset)
    elif "receiveAmount" in limits:
        receives = f"up to {_money(limits['receiveAmount'])}"
    else:
        receives = ""
    if receives:
        parts.append(f'<span class="payee-receives">{escape(payee.name)} receives {escape(receives)}</span>')
    rate = store.settings.rate(sender.wallet.asset_code, payee.wallet.asset_code)
    if rate is not None:
        text = format_rate(sender.wallet.asset_code, payee.wallet.asset_code, rate)
        parts.append(f'<span class="rate">Rate: {escape(text)}</span>')
    return f'<p class="exchange">{_SEPARATOR.join(parts)}</p>' if parts else ""


def _payment_request(store: Store, item: dict[str, Any]) -> tuple[str, str]:
    """An outgoing-payment access item as (what the application asks, in words; the exchange line)."""
    limits = item.get("limits") or {}
    sender = _party(store, str(item.get("identifier", "")))
    amount = f'<strong class="amount">{escape(_amount_text(limits))}</strong>'
    if "interval" in limits:
        amount += f' <span class="interval">{escape(interval_text(str(limits["interval"])))}</span>'
    receiver = limits.get("receiver")
    payment = _incoming(store, receiver)
    if payment is not None:
        payee = _party(store, store.urls.wallet(payment.wallet))
        payee_html = f'<strong class="receiver">{escape(payee.name)}</strong>'
        exchange = _exchange(store, limits, sender, payee, payment)
    else:
        payee_html = f'<strong class="receiver">{escape(str(receiver or "any receiver"))}</strong>'
        exchange = ""
    from_wallet = f"from your wallet {sender.html('sender')}"
    if "receiveAmount" in limits:
        words = f"pay {from_wallet} so that {payee_html} receives {amount}"
    elif receiver:
        words = f"pay {payee_html} {amount} {from_wallet}"
    else:
        words = f"pay {amount} to {payee_html} {from_wallet}"
    return words + _purpose(payment), exchange


def _access_request(store: Store, item: dict[str, Any]) -> str:
    """Any other access item in words: "read, list the incoming payments of your wallet Alice"."""
    resource = _RESOURCES.get(item["type"], item["type"])
    actions = escape(", ".join(item["actions"]).replace("-all", " all"))
    owner = item.get("identifier")
    whose = f" of your wallet {_party(store, str(owner)).html('sender')}" if owner else ""
    return f"{actions} {escape(resource)}{whose}"


def _requests(store: Store, grant: Grant) -> list[tuple[str, str]]:
    """Everything the grant asks for, in words, each with its exchange line (or "")."""
    requests = [
        _payment_request(store, item)
        if item["type"] == "outgoing-payment"
        else (_access_request(store, item), "")
        for item in grant.access
    ]
    for sub in (grant.subject or {}).get("sub_ids", []):
        if isinstance(sub, dict) and isinstance(sub.get("id"), str):
            requests.append(
                (f"confirm that you own the wallet {_party(store, sub['id']).html('sender')}", "")
            )
    return requests


def _technical(store: Store, grant: Grant) -> str:
    """The disclosure with what the grant asks for exactly: addresses, actions, raw limits."""
    rows = []
    if not grant.client_id.startswith("jwk:"):
        rows.append(("Application", grant.client_id))
    for item in grant.access:
        limits = item.get("limits") or {}
        rows.append(("Access", f"{item['type']}: {', '.join(item['actions'])}"))
        if item.get("identifier"):
            rows.append(("From wallet", str(item["identifier"])))
        if limits.get("receiver"):
            rows.append(("Receiver (incoming payment)", str(limits["receiver"])))
            payment = _incoming(store, limits["receiver"])
            if payment is not None:
                rows.append(("Receiver wallet", store.urls.wallet(payment.wallet)))
        for key, label in (("debitAmount", "Debit limit"), ("receiveAmount", "Receive limit")):
            if key in limits:
                value = limits[key]
                rows.append((label, f"{value['value']} {value['assetCode']}, scale {value['assetScale']}"))
        if "interval" in limits:
            rows.append(("Interval", str(limits["interval"])))
    items = "".join(f"<dt>{escape(label)}</dt><dd>{escape(text)}</dd>" for label, text in rows)
    return f'<details><summary>Technical details</summary><dl class="technical">{items}</dl></details>'


def consent_page(store: Store, interaction: Interaction, grant: Grant) -> str:
    """The consent screen: who asks to pay whom, how much, from which wallet and what for; then the
    technical detail folded away, and Accept / Decline."""
    client = f'<strong class="client-name">{escape(grant.client_name or "An application")}</strong>'
    requests = _requests(store, grant)
    if len(requests) == 1:
        words, exchange = requests[0]
        asked = f'<p class="lead access">{client} asks to {words}.</p>{exchange}'
    else:
        listed = "".join(f'<li class="access">{words}{exchange}</li>' for words, exchange in requests)
        asked = f'<p class="lead">{client} asks for permission to:</p><ul class="requests">{listed}</ul>'
    paying = any(item["type"] == "outgoing-payment" for item in grant.access)
    title = "Approve a payment" if paying else "Approve access"
    base = f"/auth/interact/{escape(interaction.id)}/{escape(interaction.nonce)}"
    body = f"""<p class="brand">{pages.SITE_NAME}</p>
<h1>{title}</h1>
{asked}
{_technical(store, grant)}
<div class="actions">
{_button(f"{base}/accept", "primary", "accept", "Accept")}
{_button(f"{base}/reject", "secondary", "decline", "Decline")}
</div>"""
    return pages.document(title, body)


def _button(action: str, kind: str, button_id: str, label: str) -> str:
    return (
        f'<form method="post" action="{action}">'
        f'<button type="submit" class="button {kind}" id="{button_id}">{label}</button></form>'
    )


def decided_page(interaction: Interaction, grant: Grant) -> str:
    """What the same browser sees on coming back after deciding: the decision, and the way back."""
    approved = interaction.state == InteractionState.APPROVED
    title = "Already approved" if approved else "Already declined"
    client = escape(grant.client_name or "the application")
    told = "approved" if approved else "declined"
    if grant.finish:
        finish_url = f"/auth/interact/{escape(interaction.id)}/{escape(interaction.nonce)}/finish"
        onward = f'<a class="button primary" id="continue" href="{finish_url}">Continue to {client}</a>'
    else:
        onward = f'<p class="onward">{client} will pick up your answer. You can close this page.</p>'
    body = f"""<p class="brand">{pages.SITE_NAME}</p>
<h1>{title}</h1>
<p class="decision">You already {told} this request from <strong class="client-name">{client}</strong>.</p>
{onward}"""
    return pages.document(title, body)


routes = [
    Route("/auth/interact/{id}/{nonce}/finish", finish, methods=["GET"]),
    Route("/auth/interact/{id}/{nonce}/{choice:str}", choose, methods=["POST"]),
    Route("/auth/interact/{id}/{nonce}", start, methods=["GET"]),
]
