"""Resource groups of :class:`~payments.client.OpenPaymentsClient`, one per Open Payments API area."""

from __future__ import annotations

import datetime
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from .exceptions import InvalidKeyError, ResponseValidationError
from .keys import public_key_from_jwk
from .models import (
    AccessItem,
    AccessToken,
    Amount,
    Continuation,
    Grant,
    GrantSpentAmounts,
    IncomingPayment,
    InteractRequest,
    OutgoingPayment,
    PaginatedList,
    PendingGrant,
    PublicIncomingPayment,
    Quote,
    WalletAddress,
    grant_from_json,
    paginated_from_json,
    to_utc_string,
)
from .requester import Requester
from .urls import resource_url, wallet_address_url

__all__ = [
    "Grants",
    "IncomingPayments",
    "OutgoingPaymentGrant",
    "OutgoingPayments",
    "Quotes",
    "Tokens",
    "WalletAddresses",
]

Token = AccessToken | str
_CACHE_SIZE = 512


def _page_params(
    first: int | None, last: int | None, cursor: str | None, wallet: str
) -> dict[str, str | int]:
    if first is not None and last is not None:
        raise ValueError("pass first or last, not both")
    if last is not None and cursor is None:
        raise ValueError("last needs a cursor")
    for count in (first, last):
        if count is not None and not 1 <= count <= 100:
            raise ValueError("first/last must be between 1 and 100")
    params: dict[str, str | int] = {"wallet-address": wallet}
    if first is not None:
        params["first"] = first
    if last is not None:
        params["last"] = last
    if cursor is not None:
        params["cursor"] = cursor
    return params


T = TypeVar("T")


def _require_json(data: Any, what: str) -> Any:
    if data is None:
        raise ResponseValidationError(f"{what}: expected a JSON body, got none")
    return data


def _with_metadata(body: dict[str, Any], metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    if metadata is not None:
        body["metadata"] = dict(metadata)
    return body


class WalletAddresses:
    """Wallet address documents (cached for ``ttl`` seconds) and their published keys."""

    def __init__(self, requester: Requester, *, ttl: float) -> None:
        self._requester = requester
        self._ttl = ttl
        self._cache: OrderedDict[str, tuple[float, WalletAddress]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url_or_pointer: str, *, refresh: bool = False) -> WalletAddress:
        """Fetch a wallet address (URL or ``$pointer``); unsigned, cached for the configured TTL."""
        url = wallet_address_url(url_or_pointer)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None and not refresh and cached[0] > now:
            return cached[1]
        wallet = WalletAddress.from_json(_require_json(self._requester.request("GET", url), "wallet address"))
        with self._lock:
            self._cache[url] = (now + self._ttl, wallet)
            self._cache.move_to_end(url)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return wallet

    def is_cached(self, url_or_pointer: str) -> bool:
        """Whether ``get`` would answer from the cache (a fresh copy is held)."""
        url = wallet_address_url(url_or_pointer)
        with self._lock:
            cached = self._cache.get(url)
        return cached is not None and cached[0] > time.monotonic()

    def get_keys(self, wallet: WalletAddress | str) -> tuple[dict[str, str], ...]:
        """Fetch ``<wallet>/jwks.json``; returns the Ed25519 JWKs (others are skipped)."""
        base = wallet.id if isinstance(wallet, WalletAddress) else wallet_address_url(wallet)
        data = _require_json(self._requester.request("GET", resource_url(base, "jwks.json")), "jwks")
        keys = data.get("keys") if isinstance(data, Mapping) else None
        if not isinstance(keys, list):
            raise ResponseValidationError("jwks.keys: expected a list")
        usable: list[dict[str, str]] = []
        for jwk in keys:
            if not isinstance(jwk, Mapping) or not isinstance(jwk.get("kid"), str):
                continue
            try:
                public_key_from_jwk(jwk)
            except InvalidKeyError:
                continue
            usable.append({k: v for k, v in jwk.items() if isinstance(k, str) and isinstance(v, str)})
        return tuple(usable)


def _continuation(grant: PendingGrant | Grant | Continuation) -> Continuation:
    if isinstance(grant, Continuation):
        return grant
    if grant.continuation is None:
        raise ValueError("this grant has no continuation")
    return grant.continuation


class Grants:
    """GNAP grants at an auth server: request, continue after consent, poll, cancel."""

    def __init__(self, requester: Requester, *, client: str) -> None:
        self._requester = requester
        self._client = client

    def request(
        self,
        auth_server: WalletAddress | str,
        *,
        access: Sequence[AccessItem],
        interact: InteractRequest | None = None,
    ) -> Grant | PendingGrant:
        """Ask for access; returns a :class:`Grant` when approved at once, else a :class:`PendingGrant`.

        ``auth_server`` is the wallet (its advertised ``authServer`` is used verbatim) or that URL.
        """
        if not access:
            raise ValueError("a grant request needs at least one access item")
        url = auth_server.auth_server if isinstance(auth_server, WalletAddress) else auth_server
        body: dict[str, Any] = {
            "access_token": {"access": [item.to_json() for item in access]},
            "client": self._client,
        }
        if interact is not None:
            body["interact"] = interact.to_json()
        return grant_from_json(_require_json(self._requester.request("POST", url, body=body), "grant"))

    def continue_(self, grant: PendingGrant | Continuation, *, interact_ref: str) -> Grant | PendingGrant:
        """Continue after the user consented (``interact_ref`` from the finish redirect).

        Raises :class:`~payments.TooFast` if called before ``wait`` seconds; a grant continues once only.
        """
        cont = _continuation(grant)
        data = self._requester.request(
            "POST", cont.uri, token=cont.access_token, body={"interact_ref": interact_ref}, wait=cont.wait
        )
        return grant_from_json(_require_json(data, "grant"))

    def poll(self, grant: PendingGrant | Continuation) -> Grant | PendingGrant:
        """Ask whether a grant without a finish URI was approved; at most once every ``wait`` seconds."""
        cont = _continuation(grant)
        data = self._requester.request("POST", cont.uri, token=cont.access_token, wait=cont.wait)
        return grant_from_json(_require_json(data, "grant"))

    def cancel(self, grant: PendingGrant | Grant | Continuation) -> None:
        """Revoke the grant and every token issued under it."""
        cont = _continuation(grant)
        self._requester.request("DELETE", cont.uri, token=cont.access_token)


class Tokens:
    """Access token management at its ``manage`` URL."""

    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    def rotate(self, token: AccessToken) -> AccessToken:
        """Exchange ``token`` for a new one; the old value and manage URL stop working at once."""
        data = _require_json(self._requester.request("POST", token.manage, token=token), "token")
        if not isinstance(data, Mapping):
            raise ResponseValidationError("token: expected a JSON object")
        return AccessToken.from_json(data.get("access_token"))

    def revoke(self, token: AccessToken) -> None:
        """Revoke ``token``."""
        self._requester.request("DELETE", token.manage, token=token)


class _PaymentCollection(Generic[T]):
    """Payments of one kind on wallets' resource servers: read one, or page through this client's."""

    _collection: ClassVar[str]  # the path under a resource server, e.g. "incoming-payments"
    _noun: ClassVar[str]

    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    def _parse(self, data: object) -> T:
        raise NotImplementedError

    def get(self, url: str, *, token: Token) -> T:
        """Read one payment with a token that has ``read``."""
        data = self._requester.request("GET", url, token=token)
        return self._parse(_require_json(data, self._noun))

    def list(
        self,
        wallet: WalletAddress,
        *,
        token: Token,
        first: int | None = None,
        last: int | None = None,
        cursor: str | None = None,
    ) -> PaginatedList[T]:
        """One page of this client's payments on ``wallet`` (needs ``list``)."""
        data = self._requester.request(
            "GET",
            resource_url(wallet.resource_server, self._collection),
            token=token,
            params=_page_params(first, last, cursor, wallet.id),
        )
        return paginated_from_json(_require_json(data, "list"), self._parse)


class IncomingPayments(_PaymentCollection[IncomingPayment]):
    """Incoming payments at the receiver's resource server."""

    _collection, _noun = "incoming-payments", "incoming payment"

    def _parse(self, data: object) -> IncomingPayment:
        return IncomingPayment.from_json(data)

    def create(
        self,
        wallet: WalletAddress,
        *,
        token: Token,
        incoming_amount: Amount | None = None,
        expires_at: datetime.datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> IncomingPayment:
        """Create an incoming payment on ``wallet``; never retry blindly (it would duplicate)."""
        body: dict[str, Any] = {"walletAddress": wallet.id}
        if incoming_amount is not None:
            if (incoming_amount.asset_code, incoming_amount.asset_scale) != (
                wallet.asset_code,
                wallet.asset_scale,
            ):
                raise ValueError("incoming_amount must be in the receiving wallet's asset")
            if incoming_amount.value == 0:
                raise ValueError("incoming_amount must be positive")
            body["incomingAmount"] = incoming_amount.to_json()
        if expires_at is not None:
            body["expiresAt"] = to_utc_string(expires_at)
        url = resource_url(wallet.resource_server, "incoming-payments")
        data = self._requester.request("POST", url, token=token, body=_with_metadata(body, metadata))
        return IncomingPayment.from_json(_require_json(data, "incoming payment"))

    def get_public(self, url: str) -> PublicIncomingPayment:
        """Read the public view of an incoming payment (no token, unsigned)."""
        data = self._requester.request("GET", url)
        return PublicIncomingPayment.from_json(_require_json(data, "incoming payment"))

    def complete(self, url: str, *, token: Token) -> IncomingPayment:
        """Mark an incoming payment as complete so it takes no more money (needs ``complete``)."""
        data = self._requester.request("POST", resource_url(url, "complete"), token=token)
        return IncomingPayment.from_json(_require_json(data, "incoming payment"))


class Quotes:
    """Quotes at the sender's resource server."""

    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    def create(
        self,
        wallet: WalletAddress,
        *,
        token: Token,
        receiver: str,
        debit_amount: Amount | None = None,
        receive_amount: Amount | None = None,
    ) -> Quote:
        """Price a payment from ``wallet`` to the incoming payment ``receiver``.

        Give ``debit_amount`` (sender's asset) or ``receive_amount`` (receiver's), or neither when the
        incoming payment has an amount.
        """
        if debit_amount is not None and receive_amount is not None:
            raise ValueError("pass debit_amount or receive_amount, not both")
        body: dict[str, Any] = {"walletAddress": wallet.id, "receiver": receiver, "method": "ilp"}
        if debit_amount is not None:
            body["debitAmount"] = debit_amount.to_json()
        if receive_amount is not None:
            body["receiveAmount"] = receive_amount.to_json()
        data = self._requester.request(
            "POST", resource_url(wallet.resource_server, "quotes"), token=token, body=body
        )
        return Quote.from_json(_require_json(data, "quote"))

    def get(self, url: str, *, token: Token) -> Quote:
        """Read a quote."""
        return Quote.from_json(_require_json(self._requester.request("GET", url, token=token), "quote"))


class OutgoingPayments(_PaymentCollection[OutgoingPayment]):
    """Outgoing payments at the sender's resource server."""

    _collection, _noun = "outgoing-payments", "outgoing payment"

    def _parse(self, data: object) -> OutgoingPayment:
        return OutgoingPayment.from_json(data)

    def create(
        self,
        wallet: WalletAddress,
        *,
        token: Token,
        quote_id: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> OutgoingPayment:
        """Pay a quote; repeating it is safe (a used quote gives :class:`~payments.InvalidQuote`)."""
        body = _with_metadata({"walletAddress": wallet.id, "quoteId": quote_id}, metadata)
        return self._create(wallet, token, body)

    def create_from_incoming_payment(
        self,
        wallet: WalletAddress,
        *,
        token: Token,
        incoming_payment: str,
        debit_amount: Amount,
        metadata: Mapping[str, Any] | None = None,
    ) -> OutgoingPayment:
        """Pay ``debit_amount`` (sender's asset) into an incoming payment without a quote; not idempotent."""
        body = _with_metadata(
            {
                "walletAddress": wallet.id,
                "incomingPayment": incoming_payment,
                "debitAmount": debit_amount.to_json(),
            },
            metadata,
        )
        return self._create(wallet, token, body)

    def _create(self, wallet: WalletAddress, token: Token, body: dict[str, Any]) -> OutgoingPayment:
        url = resource_url(wallet.resource_server, "outgoing-payments")
        data = self._requester.request("POST", url, token=token, body=body)
        return OutgoingPayment.from_json(_require_json(data, "outgoing payment"))


class OutgoingPaymentGrant:
    """What an outgoing-payment grant has spent so far (``GET <resourceServer>/outgoing-payment-grant``)."""

    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    def get(self, wallet: WalletAddress, *, token: Token) -> GrantSpentAmounts:
        """Return the grant's spent debit/receive amounts for the current interval (None before any)."""
        url = resource_url(wallet.resource_server, "outgoing-payment-grant")
        return GrantSpentAmounts.from_json(
            _require_json(self._requester.request("GET", url, token=token), "grant")
        )
