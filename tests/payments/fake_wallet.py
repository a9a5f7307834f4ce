"""A small in-test Open Payments wallet (WA + AS + RS) served through httpx.MockTransport.

It checks every signature with payments.verify_request against the client's JWKS, enforces tokens,
and answers with Rafiki's shapes. Use the real local wallet (testwallet/) once it exists.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from payments import SignatureError, finish_hash, verify_request

WA = "https://wallet.example"
AS = "https://auth.wallet.example"
RS = "https://rs.wallet.example"
TENANT = "438fa74a"
AUTH_SERVER = f"{AS}/{TENANT}"
RESOURCE_SERVER = f"{RS}/{TENANT}"
NOW = "2026-09-01T12:00:00.000Z"


@dataclass
class _Grant:
    access: list[dict[str, Any]]
    client: str
    continue_token: str
    interactive: bool
    finish: dict[str, str] | None = None
    interact_nonce: str | None = None
    interact_ref: str | None = None
    approved: bool = False
    finalized: bool = False
    revoked: bool = False
    spent_debit: int = 0
    spent_receive: int = 0


@dataclass
class _Token:
    grant: _Grant
    value: str
    active: bool = True


@dataclass
class FakeWallet:
    """State of the fake: wallets, client JWKS, grants, tokens and resources, plus the requests seen."""

    client_jwks: dict[str, Any]
    client_url: str
    grants: dict[str, _Grant] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)  # manage id -> token
    incoming: dict[str, dict[str, Any]] = field(default_factory=dict)
    quotes: dict[str, dict[str, Any]] = field(default_factory=dict)
    outgoing: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: list[tuple[str, str, int]] = field(default_factory=list)

    def wallet(self, name: str) -> dict[str, Any]:
        return {
            "id": f"{WA}/{name}",
            "publicName": name.title(),
            "assetCode": "EUR",
            "assetScale": 2,
            "authServer": AUTH_SERVER,
            "resourceServer": RESOURCE_SERVER,
        }

    # -- the test's hand on the consent screen -------------------------------------------------

    def approve(self, redirect: str) -> tuple[str, str]:
        """Play the user accepting at ``redirect``; return the (hash, interact_ref) of the finish redirect."""
        grant = next(g for g in self.grants.values() if g.interact_nonce and g.interact_nonce in redirect)
        grant.approved, grant.interact_ref = True, str(uuid.uuid4())
        if grant.finish is None:  # polling grant: no redirect back, nothing to hash
            return "", ""
        digest = finish_hash(
            client_nonce=grant.finish["nonce"],
            interact_nonce=grant.interact_nonce or "",
            interact_ref=grant.interact_ref,
            grant_url=AUTH_SERVER,
        )
        return digest, grant.interact_ref

    # -- transport -----------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = self._route(request)
        self.seen.append((request.method, str(request.url), response.status_code))
        return response

    def _route(self, request: httpx.Request) -> httpx.Response:
        url, method = request.url, request.method
        path = url.path
        if url.host == "wallet.example" and method == "GET":
            name = path.strip("/")
            if name.endswith("/jwks.json"):
                return httpx.Response(200, json=self.client_jwks)
            return httpx.Response(200, json=self.wallet(name))
        if url.host == "rs.wallet.example" and method == "GET" and "authorization" not in request.headers:
            payment = self.incoming[str(url)]
            return httpx.Response(
                200, json={"receivedAmount": payment["receivedAmount"], "authServer": AUTH_SERVER}
            )
        try:
            verify_request(
                method=method,
                url=str(url),
                headers=request.headers,
                body=request.content,
                jwks=self.client_jwks,
            )
        except SignatureError as error:
            return _error(401, "invalid_client", error.reason)
        body = json.loads(request.content) if request.content else {}
        if url.host == "auth.wallet.example":
            return self._auth(method, path, request.headers.get("authorization", ""), body)
        return self._resource(method, str(url.copy_with(query=None)), url.params, request.headers, body)

    # -- auth server ---------------------------------------------------------------------------

    def _auth(self, method: str, path: str, authorization: str, body: dict[str, Any]) -> httpx.Response:
        if path == f"/{TENANT}" and method == "POST":
            return self._grant_request(body)
        kind, _, ident = path.strip("/").partition("/")
        if kind == "continue":
            grant = self.grants.get(ident)
            if grant is None or grant.revoked or authorization != f"GNAP {grant.continue_token}":
                return _error(401, "invalid_continuation", "invalid grant")
            if method == "DELETE":
                grant.revoked = True
                for token in self.tokens.values():
                    if token.grant is grant:
                        token.active = False
                return httpx.Response(204)
            if not body:
                return self._poll(ident, grant)
            if body.get("interact_ref") != grant.interact_ref:
                return _error(404, "invalid_continuation", "grant not found")
            if not grant.approved or grant.finalized:
                return _error(401, "request_denied", "grant interaction not approved")
            grant.finalized = True
            return httpx.Response(
                200, json={"access_token": self._issue(grant), "continue": self._continue(ident)}
            )
        if kind == "token":
            token = self.tokens.get(ident)
            if token is None or not token.active:
                return _error(401, "invalid_client", "invalid access token")
            token.active = False
            del self.tokens[ident]
            if method == "DELETE":
                return httpx.Response(204)
            return httpx.Response(200, json={"access_token": self._issue(token.grant)})
        return _error(404, "invalid_request", "not found")

    def _grant_request(self, body: dict[str, Any]) -> httpx.Response:
        access = body["access_token"]["access"]
        interactive = any(item["type"] == "outgoing-payment" for item in access)
        grant_id = str(uuid.uuid4())
        grant = _Grant(access=access, client=body["client"], continue_token=_token(), interactive=interactive)
        self.grants[grant_id] = grant
        if not interactive:
            return httpx.Response(
                200, json={"access_token": self._issue(grant), "continue": self._continue(grant_id)}
            )
        if "interact" not in body:
            return _error(400, "invalid_request", "missing required request field 'interact'")
        grant.finish = body["interact"].get("finish")
        grant.interact_nonce = secrets.token_hex(8).upper()
        return httpx.Response(
            200,
            json={
                "interact": {
                    "redirect": f"{AS}/interact/{grant_id}/{grant.interact_nonce}",
                    "finish": grant.interact_nonce,
                },
                "continue": self._continue(grant_id) | {"wait": 0},
            },
        )

    def _poll(self, grant_id: str, grant: _Grant) -> httpx.Response:
        if grant.finish is not None:
            return _error(401, "request_denied", "grant cannot be polled")
        if grant.finalized:
            return _error(401, "request_denied", "grant cannot be continued")
        if not grant.approved:
            return httpx.Response(200, json={"continue": self._continue(grant_id) | {"wait": 0}})
        grant.finalized = True
        return httpx.Response(
            200, json={"access_token": self._issue(grant), "continue": self._continue(grant_id)}
        )

    def _continue(self, grant_id: str) -> dict[str, Any]:
        grant = self.grants[grant_id]
        return {"access_token": {"value": grant.continue_token}, "uri": f"{AS}/continue/{grant_id}"}

    def _issue(self, grant: _Grant) -> dict[str, Any]:
        manage_id, value = str(uuid.uuid4()), _token()
        self.tokens[manage_id] = _Token(grant=grant, value=value)
        return {
            "value": value,
            "manage": f"{AS}/token/{manage_id}",
            "expires_in": 600,
            "access": grant.access,
        }

    # -- resource server -----------------------------------------------------------------------

    def _grant_for(self, headers: httpx.Headers, kind: str, action: str) -> _Grant | httpx.Response:
        value = headers.get("authorization", "").removeprefix("GNAP ")
        token = next((t for t in self.tokens.values() if t.value == value), None)
        if token is None or not token.active or token.grant.revoked:
            return _error(403, "403", "Inactive Token")
        if not any(i["type"] == kind and action in i["actions"] for i in token.grant.access):
            return _error(403, "403", "Insufficient Grant")
        return token.grant

    def _resource(
        self, method: str, url: str, params: httpx.QueryParams, headers: httpx.Headers, body: dict[str, Any]
    ) -> httpx.Response:
        tail = url.removeprefix(RESOURCE_SERVER + "/")
        collection, _, rest = tail.partition("/")
        action = {"POST": "create", "GET": "read"}[method]
        if method == "GET" and not rest and collection != "outgoing-payment-grant":
            action = "list"
        if rest.endswith("/complete"):
            action = "complete"
        kind = {"outgoing-payment-grant": "outgoing-payment"}.get(collection, collection.removesuffix("s"))
        grant = self._grant_for(headers, kind, action)
        if isinstance(grant, httpx.Response):
            return grant
        if collection == "incoming-payments":
            return self._incoming(method, url, rest, params, body)
        if collection == "quotes":
            return self._quote(method, url, body)
        if collection == "outgoing-payments":
            return self._outgoing(method, url, grant, body)
        return httpx.Response(
            200,
            json={
                "spentDebitAmount": _amount(grant.spent_debit) if grant.spent_debit else None,
                "spentReceiveAmount": _amount(grant.spent_receive) if grant.spent_receive else None,
            },
        )

    def _incoming(
        self, method: str, url: str, rest: str, params: httpx.QueryParams, body: dict[str, Any]
    ) -> httpx.Response:
        if method == "POST" and not rest:
            ident = f"{RESOURCE_SERVER}/incoming-payments/{uuid.uuid4()}"
            self.incoming[ident] = {
                "id": ident,
                "walletAddress": body["walletAddress"],
                "incomingAmount": body["incomingAmount"],
                "receivedAmount": _amount(0),
                "completed": False,
                "metadata": body.get("metadata"),
                "createdAt": NOW,
                "expiresAt": "2026-10-01T12:00:00.000Z",
                "methods": [{"type": "ilp", "ilpAddress": "test.fake.1", "sharedSecret": "c2VjcmV0"}],
            }
            return httpx.Response(201, json=self.incoming[ident])
        if method == "GET" and not rest:
            result = [p for p in self.incoming.values() if p["walletAddress"] == params["wallet-address"]]
            page = {"startCursor": None, "endCursor": None, "hasNextPage": False, "hasPreviousPage": False}
            return httpx.Response(200, json={"pagination": page, "result": result})
        payment = self.incoming[url.removesuffix("/complete")]
        if rest.endswith("/complete"):
            payment["completed"] = True
        return httpx.Response(200, json=payment)

    def _quote(self, method: str, url: str, body: dict[str, Any]) -> httpx.Response:
        if method == "GET":
            return httpx.Response(200, json=self.quotes[url])
        receiver = self.incoming[body["receiver"]]
        ident = f"{RESOURCE_SERVER}/quotes/{uuid.uuid4()}"
        receive = int(receiver["incomingAmount"]["value"])
        self.quotes[ident] = {
            "id": ident,
            "walletAddress": body["walletAddress"],
            "receiver": body["receiver"],
            "receiveAmount": _amount(receive),
            "debitAmount": _amount(receive + 20),  # a 0.20 EUR sender fee
            "method": "ilp",
            "createdAt": NOW,
            "expiresAt": "2026-09-01T12:05:00.000Z",
        }
        return httpx.Response(201, json=self.quotes[ident])

    def _outgoing(self, method: str, url: str, grant: _Grant, body: dict[str, Any]) -> httpx.Response:
        if method == "GET":
            payment = {k: v for k, v in self.outgoing[url].items() if not k.startswith("grantSpent")}
            return httpx.Response(200, json=payment)
        if "incomingPayment" in body:
            receiver = self.incoming[body["incomingPayment"]]
            debit = int(body["debitAmount"]["value"])
            self._quote("POST", "", {"walletAddress": body["walletAddress"], "receiver": receiver["id"]})
            quote_id = list(self.quotes)[-1]
            self.quotes[quote_id]["debitAmount"] = _amount(debit)
            self.quotes[quote_id]["receiveAmount"] = _amount(debit - 20)
            body = {
                "walletAddress": body["walletAddress"],
                "quoteId": quote_id,
                "metadata": body.get("metadata"),
            }
        quote = self.quotes.get(body["quoteId"])
        if quote is None or quote.get("used"):
            return _error(400, "400", "invalid quote")
        quote["used"] = True
        debit, receive = int(quote["debitAmount"]["value"]), int(quote["receiveAmount"]["value"])
        spent_before = (grant.spent_debit, grant.spent_receive)
        grant.spent_debit, grant.spent_receive = grant.spent_debit + debit, grant.spent_receive + receive
        ident = quote["id"].replace("/quotes/", "/outgoing-payments/")
        # Settles at once: the receiver gets receiveAmount; sentAmount ends at debit minus the fee.
        incoming = self.incoming[quote["receiver"]]
        incoming["receivedAmount"] = _amount(receive)
        incoming["completed"] = True
        incoming["methods"] = []
        self.outgoing[ident] = {
            "id": ident,
            "walletAddress": body["walletAddress"],
            "quoteId": quote["id"],
            "receiver": quote["receiver"],
            "failed": False,
            "debitAmount": quote["debitAmount"],
            "receiveAmount": quote["receiveAmount"],
            "sentAmount": _amount(receive),
            "metadata": body.get("metadata"),
            "createdAt": NOW,
            "grantSpentDebitAmount": _amount(spent_before[0]),
            "grantSpentReceiveAmount": _amount(spent_before[1]),
        }
        return httpx.Response(201, json=self.outgoing[ident])


def _token() -> str:
    return secrets.token_hex(10).upper()


def _amount(value: int) -> dict[str, Any]:
    return {"value": str(value), "assetCode": "EUR", "assetScale": 2}


def _error(status: int, code: str, description: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "description": description}})
