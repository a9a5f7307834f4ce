"""GNAP grant, continuation, token and interaction rules, as Rafiki's auth server applies them.

Sources: ``packages/auth/src/grant/routes.ts``, ``interaction/routes.ts``, ``accessToken/routes.ts`` and
``signature/middleware.ts`` in interledger/rafiki, checked against ``docs/protocol-notes.md`` §3-§6.
Every function here runs synchronously under the store lock; the HTTP layer does the awaiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit, urlunsplit

from payments.interaction import finish_hash

from .clients import ClientDirectory
from .errors import GnapError
from .formats import new_interact_nonce, new_token, new_uuid
from .models import (
    AccessToken,
    Finalization,
    Grant,
    GrantState,
    Interaction,
    InteractionState,
)
from .state import Store

# --- grant requests -------------------------------------------------------------------------------


def needs_interaction(body: dict[str, Any]) -> bool:
    """Rafiki's ``canSkipInteraction`` inverted: incoming-payment and quote grants (without
    ``list-all``) are approved at once; anything else needs a user and an ``identifier``."""
    subject_ids = (body.get("subject") or {}).get("sub_ids") or []
    access = (body.get("access_token") or {}).get("access") or []
    if not subject_ids and not access:
        raise GnapError(400, "invalid_request", "subject or access_token required")
    can_skip = bool(access)
    for item in access:
        skip = item.get("type") in ("incoming-payment", "quote") and "list-all" not in item.get("actions", [])
        if not skip and not item.get("identifier"):
            raise GnapError(400, "invalid_request", "access identifier required")
        can_skip = can_skip and skip
    return bool(subject_ids) or not can_skip


def normalize_access(access: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The access items as Rafiki stores and echoes them (key order ``actions, identifier, type, limits``).

    Refuses ``debitAmount`` together with ``receiveAmount`` (``only one access amount allowed``).
    """
    normalized = []
    for item in access:
        echo: dict[str, Any] = {"actions": list(item["actions"])}
        if item.get("identifier"):
            echo["identifier"] = item["identifier"]
        echo["type"] = item["type"]
        limits = item.get("limits")
        if isinstance(limits, dict):
            if "debitAmount" in limits and "receiveAmount" in limits:
                raise GnapError(400, "invalid_request", "only one access amount allowed")
            echo_limits: dict[str, Any] = {}
            for key in ("receiver", "interval"):
                if key in limits:
                    echo_limits[key] = limits[key]
            for key in ("debitAmount", "receiveAmount"):
                if key in limits:
                    value = limits[key]
                    echo_limits[key] = {
                        "value": value["value"],
                        "assetCode": value["assetCode"],
                        "assetScale": value["assetScale"],
                    }
            if echo_limits:
                echo["limits"] = echo_limits
        normalized.append(echo)
    return normalized


def _new_grant(store: Store, body: dict[str, Any], *, interactive: bool) -> Grant:
    now = store.now()
    access = normalize_access((body.get("access_token") or {}).get("access") or [])
    finish = (body.get("interact") or {}).get("finish") if interactive else None
    return Grant(
        id=new_uuid(),
        client=body["client"],
        client_id=ClientDirectory.identity(body["client"]),
        access=access,
        continue_id=new_uuid(),
        continue_token=new_token(),
        created_at=now,
        last_continued_at=now,
        finish=dict(finish) if isinstance(finish, dict) else None,
        subject=body.get("subject") if interactive else None,
        interactive=interactive,
    )


def _issue_token(store: Store, grant: Grant) -> AccessToken:
    token = AccessToken(
        value=new_token(),
        manage_id=new_uuid(),
        grant_id=grant.id,
        created_at=store.now(),
        expires_in=store.settings.token_lifetime_seconds,
    )
    store.tokens[token.value] = token
    store.tokens_by_manage[token.manage_id] = token
    return token


def create_approved_grant(store: Store, body: dict[str, Any]) -> tuple[Grant, AccessToken]:
    """A non-interactive grant with its access token, issued at once."""
    with store.lock:
        grant = _new_grant(store, body, interactive=False)
        grant.state = GrantState.FINALIZED
        grant.finalization = Finalization.ISSUED
        store.grants[grant.id] = grant
        store.grants_by_continue[grant.continue_id] = grant
        return grant, _issue_token(store, grant)


def create_pending_grant(
    store: Store, body: dict[str, Any], *, client_name: str
) -> tuple[Grant, Interaction]:
    """An interactive grant waiting for the user, with its interaction."""
    with store.lock:
        grant = _new_grant(store, body, interactive=True)
        grant.client_name = client_name
        interaction = Interaction(
            id=new_uuid(),
            nonce=new_interact_nonce(),
            ref=new_uuid(),
            grant_id=grant.id,
            created_at=grant.created_at,
        )
        store.grants[grant.id] = grant
        store.grants_by_continue[grant.continue_id] = grant
        store.interactions[interaction.id] = interaction
        store.interactions_by_ref[interaction.ref] = interaction
        store.interaction_by_grant[grant.id] = interaction
        return grant, interaction


# --- continuation -----------------------------------------------------------------------------------


def grant_for_continuation(store: Store, continue_id: str, continue_token: str | None) -> Grant:
    """The grant a continue/cancel request names; revoked grants are gone (``401 invalid_continuation``)."""
    grant = store.grants_by_continue.get(continue_id)
    if grant is None or continue_token is None or grant.continue_token != continue_token or grant.revoked:
        raise GnapError(401, "invalid_continuation", "invalid grant")
    return grant


def _still_waiting(store: Store, grant: Grant) -> bool:
    return store.now() < grant.last_continued_at + store.settings.wait_seconds * 1000


@dataclass(slots=True)
class Continuation:
    """The outcome of a continue request: a token (approved) or nothing yet (still pending)."""

    grant: Grant
    token: AccessToken | None


def continue_with_ref(store: Store, grant: Grant, interact_ref: str) -> Continuation:
    """``POST /continue/<id>`` with ``interact_ref``: succeeds once, after ``wait``, when approved."""
    with store.lock:
        interaction = store.interactions_by_ref.get(interact_ref)
        if interaction is None or interaction.grant_id != grant.id or grant.rejected or grant.revoked:
            raise GnapError(404, "invalid_continuation", "grant not found")
        if _still_waiting(store, grant):
            raise GnapError(400, "too_fast", 'continued grant faster than "wait" period')
        if grant.state != GrantState.APPROVED:
            raise GnapError(401, "request_denied", "grant interaction not approved")
        token = _issue_token(store, grant) if grant.access else None
        grant.state = GrantState.FINALIZED
        grant.finalization = Finalization.ISSUED
        return Continuation(grant, token)


def poll(store: Store, grant: Grant) -> Continuation:
    """``POST /continue/<id>`` without a body: polling, refused for grants that asked for a redirect."""
    with store.lock:
        if _still_waiting(store, grant):
            raise GnapError(400, "too_fast", 'polled grant faster than "wait" period')
        if grant.finish is not None:
            raise GnapError(401, "request_denied", "grant cannot be polled")
        if grant.state == GrantState.PENDING:
            grant.last_continued_at = store.now()
            return Continuation(grant, None)
        if grant.state != GrantState.APPROVED:
            raise GnapError(401, "request_denied", "grant cannot be continued")
        token = _issue_token(store, grant) if grant.access else None
        grant.state = GrantState.FINALIZED
        grant.finalization = Finalization.ISSUED
        return Continuation(grant, token)


def revoke_grant(store: Store, grant: Grant) -> None:
    """``DELETE /continue/<id>``: the grant and every token it issued stop working."""
    with store.lock:
        grant.state = GrantState.FINALIZED
        grant.finalization = Finalization.REVOKED
        for token in store.tokens.values():
            if token.grant_id == grant.id:
                token.revoked = True


# --- token management -------------------------------------------------------------------------------


def token_for_management(store: Store, manage_id: str) -> tuple[AccessToken, Grant]:
    """The token a manage URL names; the URL is the identity, the Authorization value is not compared
    (docs/protocol-notes.md §6). Revoked tokens, and tokens of revoked grants, are ``401 invalid_client``."""
    token = store.tokens_by_manage.get(manage_id)
    grant = store.grants.get(token.grant_id) if token is not None else None
    if token is None or grant is None or token.revoked or grant.revoked:
        raise GnapError(401, "invalid_client", "invalid access token")
    return token, grant


def rotate_token(store: Store, token: AccessToken, grant: Grant) -> AccessToken:
    """Revoke ``token`` and issue a new value and manage URL; expired tokens may be rotated."""
    with store.lock:
        if token.revoked:
            raise GnapError(404, "invalid_rotation", "invalid access token")
        token.revoked = True
        return _issue_token(store, grant)


def revoke_token(store: Store, token: AccessToken) -> None:
    with store.lock:
        token.revoked = True


# --- interaction ------------------------------------------------------------------------------------


def interaction_for(store: Store, interact_id: str, nonce: str) -> tuple[Interaction, Grant] | None:
    interaction = store.interactions.get(interact_id)
    if interaction is None or interaction.nonce != nonce:
        return None
    return interaction, store.grants[interaction.grant_id]


def interaction_expired(store: Store, interaction: Interaction) -> bool:
    return interaction.created_at + store.settings.interaction_expiry_seconds * 1000 < store.now()


def decide(store: Store, interaction: Interaction, grant: Grant, *, accept: bool) -> None:
    """Record the user's choice (Rafiki's IdP accept/reject); the grant changes at the finish step."""
    with store.lock:
        if grant.state == GrantState.FINALIZED and grant.finalization != Finalization.ISSUED:
            raise GnapError(401, "user_denied", "user denied interaction")
        if interaction.state != InteractionState.PENDING or interaction_expired(store, interaction):
            raise GnapError(400, "invalid_interaction", "invalid interaction")
        interaction.state = InteractionState.APPROVED if accept else InteractionState.DENIED


@dataclass(slots=True)
class FinishOutcome:
    """Where the finish step sends the browser (``redirect``), or the plain answer for polling grants."""

    redirect: str | None = None
    status: int = 302


def with_query(uri: str, params: dict[str, str]) -> str:
    """Set ``params`` on ``uri`` keeping its own query, serialised as WHATWG ``URLSearchParams`` does."""
    parts = urlsplit(uri)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    pairs.extend(params.items())
    query = "&".join(f"{_form_encode(k)}={_form_encode(v)}" for k, v in pairs)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _form_encode(text: str) -> str:
    return quote_plus(text, safe="*").replace("~", "%7E")


def finish(
    store: Store, interaction: Interaction, grant: Grant, *, session_nonce: str | None
) -> FinishOutcome:
    """``GET /interact/<id>/<nonce>/finish``: redirect to the client's finish URI with ``hash`` and
    ``interact_ref`` (accepted), ``result=grant_rejected`` (declined) or the error results Rafiki sends."""
    with store.lock:
        finish_uri = grant.finish["uri"] if grant.finish else None
        if interaction_expired(store, interaction):
            if finish_uri:
                return FinishOutcome(
                    with_query(
                        finish_uri, {"result": "invalid_interaction", "message": "interaction expired"}
                    )
                )
            raise GnapError(401, "invalid_interaction", "interaction expired")
        if session_nonce != interaction.nonce:
            raise GnapError(401, "invalid_request", "invalid session")
        if grant.revoked:
            if finish_uri:
                return FinishOutcome(
                    with_query(
                        finish_uri, {"result": "unknown_interaction", "message": "unknown interaction"}
                    )
                )
            raise GnapError(404, "unknown_interaction", "unknown interaction")
        if interaction.state == InteractionState.APPROVED:
            if grant.state == GrantState.PENDING:
                grant.state = GrantState.APPROVED
            if not finish_uri or grant.finish is None:
                return FinishOutcome(status=202)
            digest = finish_hash(
                client_nonce=grant.finish["nonce"],
                interact_nonce=interaction.nonce,
                interact_ref=interaction.ref,
                grant_url=store.urls.auth_server,
            )
            return FinishOutcome(with_query(finish_uri, {"hash": digest, "interact_ref": interaction.ref}))
        if interaction.state == InteractionState.DENIED:
            grant.state = GrantState.FINALIZED
            grant.finalization = Finalization.REJECTED
            if not finish_uri:
                return FinishOutcome(status=202)
            return FinishOutcome(with_query(finish_uri, {"result": "grant_rejected"}))
        if finish_uri:
            return FinishOutcome(with_query(finish_uri, {"result": "grant_invalid"}))
        raise GnapError(401, "invalid_interaction", "interaction is not active")
