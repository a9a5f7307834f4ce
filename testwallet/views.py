"""JSON bodies, with Rafiki's field sets and key order (``docs/protocol-notes.md`` §1, §7-§9)."""

from __future__ import annotations

from typing import Any

from .formats import amount, iso
from .models import AccessToken, Grant, IncomingPayment, Interaction, OutgoingPayment, Quote, Wallet
from .state import Store
from .urls import Urls

# --- wallet address server ------------------------------------------------------------------------


def wallet_view(urls: Urls, wallet: Wallet) -> dict[str, Any]:
    body: dict[str, Any] = {"id": urls.wallet(wallet.name)}
    if wallet.public_name is not None:
        body["publicName"] = wallet.public_name
    body.update(
        assetCode=wallet.asset_code,
        assetScale=wallet.asset_scale,
        authServer=urls.auth_server,
        resourceServer=urls.resource_server,
    )
    return body


# --- auth server ----------------------------------------------------------------------------------


def access_token_view(urls: Urls, grant: Grant, token: AccessToken) -> dict[str, Any]:
    return {
        "access": grant.access,
        "value": token.value,
        "manage": urls.manage_uri(token.manage_id),
        "expires_in": token.expires_in,
    }


def continue_view(urls: Urls, grant: Grant, *, wait: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": {"value": grant.continue_token},
        "uri": urls.continue_uri(grant.continue_id),
    }
    if wait is not None:
        body["wait"] = wait
    return body


def approved_grant_view(urls: Urls, grant: Grant, token: AccessToken | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if token is not None:
        body["access_token"] = access_token_view(urls, grant, token)
    if grant.subject is not None:
        body["subject"] = {"sub_ids": grant.subject.get("sub_ids", [])}
    body["continue"] = continue_view(urls, grant)
    return body


def pending_grant_view(
    store: Store, grant: Grant, interaction: Interaction, *, client_name: str, client_uri: str
) -> dict[str, Any]:
    urls = store.urls
    return {
        "interact": {
            "redirect": urls.interact_redirect(interaction.id, interaction.nonce, client_name, client_uri),
            "finish": interaction.nonce,
        },
        "continue": continue_view(urls, grant, wait=store.settings.wait_seconds),
    }


# --- resource server ------------------------------------------------------------------------------


def _asset(store: Store, wallet_name: str) -> tuple[str, int]:
    wallet = store.wallets[wallet_name]
    return wallet.asset_code, wallet.asset_scale


def incoming_payment_view(store: Store, payment: IncomingPayment, *, methods: bool) -> dict[str, Any]:
    code, scale = _asset(store, payment.wallet)
    body: dict[str, Any] = {
        "id": store.urls.incoming_payment(payment.id),
        "walletAddress": store.urls.wallet(payment.wallet),
    }
    if payment.incoming_amount is not None:
        body["incomingAmount"] = amount(payment.incoming_amount, code, scale)
    body["receivedAmount"] = amount(payment.received, code, scale)
    body["completed"] = payment.completed
    if payment.metadata is not None:
        body["metadata"] = payment.metadata
    body["createdAt"] = iso(payment.created_at)
    body["expiresAt"] = iso(payment.expires_at)
    if methods:
        open_ = not payment.completed and payment.expires_at > store.now()
        body["methods"] = (
            [{"type": "ilp", "ilpAddress": payment.ilp_address, "sharedSecret": payment.shared_secret}]
            if open_
            else []
        )
    return body


def public_incoming_payment_view(store: Store, payment: IncomingPayment) -> dict[str, Any]:
    code, scale = _asset(store, payment.wallet)
    return {"receivedAmount": amount(payment.received, code, scale), "authServer": store.urls.auth_server}


def quote_view(store: Store, quote: Quote) -> dict[str, Any]:
    return {
        "id": store.urls.quote(quote.id),
        "walletAddress": store.urls.wallet(quote.wallet),
        "receiveAmount": amount(quote.receive_amount, *quote.receive_asset),
        "debitAmount": amount(quote.debit_amount, *quote.debit_asset),
        "receiver": quote.receiver,
        "expiresAt": iso(quote.expires_at),
        "createdAt": iso(quote.created_at),
        "method": "ilp",
    }


def outgoing_payment_view(store: Store, payment: OutgoingPayment) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": store.urls.outgoing_payment(payment.id),
        "walletAddress": store.urls.wallet(payment.wallet),
        "quoteId": store.urls.quote(payment.id),
        "receiveAmount": amount(payment.receive_amount, *payment.receive_asset),
        "debitAmount": amount(payment.debit_amount, *payment.debit_asset),
        "sentAmount": amount(payment.sent, *payment.debit_asset),
        "receiver": payment.receiver,
        "failed": payment.failed,
    }
    if payment.metadata is not None:
        body["metadata"] = payment.metadata
    body["createdAt"] = iso(payment.created_at)
    return body


def spent_view(spent: tuple[int, int] | None, payment: OutgoingPayment) -> dict[str, Any]:
    """The ``grantSpent*`` members of a create response: spent under the grant *before* this payment."""
    if spent is None:
        return {}
    return {
        "grantSpentReceiveAmount": amount(spent[1], *payment.receive_asset),
        "grantSpentDebitAmount": amount(spent[0], *payment.debit_asset),
    }


def page_view(items: list[Any], render: Any, page: Any) -> dict[str, Any]:
    pagination: dict[str, Any] = {}
    if items:
        pagination["endCursor"] = items[-1].id
    pagination["hasNextPage"] = page.has_next
    pagination["hasPreviousPage"] = page.has_previous
    if items:
        pagination["startCursor"] = items[0].id
    return {"pagination": pagination, "result": [render(item) for item in items]}
