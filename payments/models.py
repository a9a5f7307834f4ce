"""Typed Open Payments objects, parsed from JSON at the edge; money is integer minor units."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from .exceptions import ResponseValidationError

__all__ = [
    "MAX_CONTINUE_WAIT_SECONDS",
    "MAX_TOKEN_LIFETIME_SECONDS",
    "AccessItem",
    "AccessToken",
    "Amount",
    "Continuation",
    "Grant",
    "GrantSpentAmounts",
    "IncomingPayment",
    "InteractRequest",
    "Limits",
    "OutgoingPayment",
    "PaginatedList",
    "PaymentMethod",
    "PendingGrant",
    "PublicIncomingPayment",
    "Quote",
    "WalletAddress",
]

_UINT64_MAX = 2**64 - 1
T = TypeVar("T")

# A wallet that asks us to wait longer than this before continuing a grant is refused, not obeyed: honouring
# it would park a payment (and the worker holding it) for as long as the wallet likes. Rafiki asks for 5 s
# (docs/protocol-notes.md §3); an hour is far beyond any honest wait.
MAX_CONTINUE_WAIT_SECONDS = 3600
# An access token said to live longer than a year is refused: no wallet issues such tokens (Rafiki: 600 s,
# docs/protocol-notes.md §3), and expiry arithmetic on absurd lifetimes overflows datetime.
MAX_TOKEN_LIFETIME_SECONDS = 365 * 24 * 3600

# Length caps for strings the spec leaves unbounded: far above what wallets send (Rafiki's URLs are under
# 150 characters, its tokens 20, its interaction nonces 16), and within what the pipeline stores, so a
# hostile wallet cannot hand us megabytes to keep, log or show.
_MAX_TEXT_LENGTH = 1024
_MAX_URL_LENGTH = 500
_MAX_REDIRECT_LENGTH = 1000  # the consent URL also carries the client's name and URI in its query
_MAX_TOKEN_LENGTH = 500
_MAX_NONCE_LENGTH = 100
_MAX_ASSET_CODE_LENGTH = 16
_MAX_ILP_ADDRESS_LENGTH = 1023  # the spec's maxLength
_MAX_ACCESS_ITEMS = 3  # the spec's maxItems

# Control characters, bidirectional overrides (which make shown text read other than it is) and lone
# surrogates (which JSON can carry but UTF-8 cannot encode).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_INCOMING_PAYMENT_URL = re.compile(r"https?://.+/incoming-payments/.+")


# --- reading JSON -------------------------------------------------------------------------------


def _obj(data: object, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ResponseValidationError(f"{where}: expected a JSON object")
    return data


def _text(value: object, name: str, max_length: int = _MAX_TEXT_LENGTH) -> str:
    if not isinstance(value, str) or not value:
        raise ResponseValidationError(f"{name}: expected a non-empty string")
    if len(value) > max_length:
        raise ResponseValidationError(f"{name}: longer than {max_length} characters")
    if _UNPRINTABLE.search(value):
        raise ResponseValidationError(f"{name}: contains control characters")
    return value


def _str(data: Mapping[str, Any], key: str, where: str, *, max_length: int = _MAX_TEXT_LENGTH) -> str:
    return _text(data.get(key), f"{where}.{key}", max_length)


def _opt_str(
    data: Mapping[str, Any], key: str, where: str, *, max_length: int = _MAX_TEXT_LENGTH
) -> str | None:
    return None if data.get(key) is None else _str(data, key, where, max_length=max_length)


def _ascii(data: Mapping[str, Any], key: str, where: str, *, max_length: int) -> str:
    """A string of visible ASCII characters: a token or code that goes into headers and columns as is."""
    value = _str(data, key, where, max_length=max_length)
    if not _VISIBLE_ASCII.fullmatch(value):
        raise ResponseValidationError(f"{where}.{key}: expected visible ASCII characters only")
    return value


def _is_web_url(text: str) -> bool:
    if not _VISIBLE_ASCII.fullmatch(text):
        return False
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _url(data: Mapping[str, Any], key: str, where: str, *, max_length: int = _MAX_URL_LENGTH) -> str:
    value = _str(data, key, where, max_length=max_length)
    if not _is_web_url(value):
        raise ResponseValidationError(f"{where}.{key}: expected an absolute http(s) URL")
    return value


def _opt_url(data: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if data.get(key) is None else _url(data, key, where)


def _receiver(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _url(data, key, where)
    if not _INCOMING_PAYMENT_URL.fullmatch(value):
        raise ResponseValidationError(f"{where}.{key}: expected an incoming payment URL")
    return value


def _opt_receiver(data: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if data.get(key) is None else _receiver(data, key, where)


def _int(data: Mapping[str, Any], key: str, where: str, low: int, high: int, unit: str = "") -> int:
    value = data.get(key)
    if type(value) is not int or not low <= value <= high:
        raise ResponseValidationError(f"{where}.{key}: expected an integer from {low} to {high}{unit}")
    return value


def _opt_int(
    data: Mapping[str, Any], key: str, where: str, low: int, high: int, unit: str = ""
) -> int | None:
    return None if data.get(key) is None else _int(data, key, where, low, high, unit)


def _bool(data: Mapping[str, Any], key: str, where: str, default: bool | None = None) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ResponseValidationError(f"{where}.{key}: expected a boolean")
    return value


def _list(
    data: Mapping[str, Any], key: str, where: str, *, required: bool = False, max_items: int | None = None
) -> list[Any]:
    """A JSON array; a missing or null one is empty unless ``required``."""
    value = data.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise ResponseValidationError(f"{where}.{key}: expected a list")
    if max_items is not None and len(value) > max_items:
        raise ResponseValidationError(f"{where}.{key}: more than {max_items} items")
    return value


def _time(data: Mapping[str, Any], key: str, where: str) -> datetime.datetime:
    """An RFC 3339 date-time with its offset, as an aware datetime in UTC."""
    text = _str(data, key, where, max_length=64)
    if not _RFC3339.fullmatch(text):
        raise ResponseValidationError(f"{where}.{key}: expected an RFC 3339 date-time")
    try:
        return datetime.datetime.fromisoformat(text.upper()).astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        # Out-of-range parts (month 13, second 60), or a moment outside the years 1-9999 once in UTC.
        raise ResponseValidationError(f"{where}.{key}: expected an RFC 3339 date-time") from None


def _opt_time(data: Mapping[str, Any], key: str, where: str) -> datetime.datetime | None:
    return None if data.get(key) is None else _time(data, key, where)


def _amount(data: Mapping[str, Any], key: str, where: str) -> Amount:
    return Amount.from_json(data.get(key), where=f"{where}.{key}")


def _opt_amount(data: Mapping[str, Any], key: str, where: str) -> Amount | None:
    return None if data.get(key) is None else _amount(data, key, where)


def _metadata(data: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
    value = data.get("metadata")
    if value is None:
        return None
    return MappingProxyType(dict(_obj(value, f"{where}.metadata")))


def to_utc_string(moment: datetime.datetime) -> str:
    """Format an aware datetime as the RFC 3339 UTC string Rafiki emits (milliseconds, ``Z``)."""
    if moment.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    utc = moment.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# --- money --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount in minor units: ``Amount(1000, "EUR", 2)`` is 10.00 EUR."""

    value: int
    asset_code: str
    asset_scale: int

    def __post_init__(self) -> None:
        if type(self.value) is not int or not 0 <= self.value <= _UINT64_MAX:
            raise ValueError("amount value must be an integer between 0 and 2**64-1")
        if type(self.asset_scale) is not int or not 0 <= self.asset_scale <= 255:
            raise ValueError("asset scale must be an integer between 0 and 255")
        if not isinstance(self.asset_code, str) or not self.asset_code:
            raise ValueError("asset code must be a non-empty string")

    @classmethod
    def from_json(cls, data: object, *, where: str = "amount") -> Amount:
        """Parse ``{"value": "1000", "assetCode": "EUR", "assetScale": 2}``; value must be a digit string."""
        obj = _obj(data, where)
        value = obj.get("value")
        digits = (value.lstrip("0") or "0") if isinstance(value, str) else ""
        # The length test comes first so that int() never reads more than 20 digits.
        if (
            not isinstance(value, str)
            or not value.isascii()
            or not value.isdigit()
            or len(digits) > 20
            or int(digits) > _UINT64_MAX
        ):
            raise ResponseValidationError(f"{where}.value: expected a string of digits from 0 to 2**64-1")
        return cls(
            int(digits),
            _ascii(obj, "assetCode", where, max_length=_MAX_ASSET_CODE_LENGTH),
            _int(obj, "assetScale", where, 0, 255),
        )

    def to_json(self) -> dict[str, Any]:
        """Return the wire form, with the value as a string."""
        return {"value": str(self.value), "assetCode": self.asset_code, "assetScale": self.asset_scale}

    def format(self) -> str:
        """Render for people, e.g. ``"10.00 USD"`` (integer math, no rounding)."""
        if self.asset_scale == 0:
            return f"{self.value} {self.asset_code}"
        whole, fraction = divmod(self.value, 10**self.asset_scale)
        return f"{whole}.{fraction:0{self.asset_scale}d} {self.asset_code}"

    def same_asset(self, other: Amount) -> bool:
        """True when both amounts are in the same asset code and scale."""
        return (self.asset_code, self.asset_scale) == (other.asset_code, other.asset_scale)


# --- wallet addresses ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WalletAddress:
    """A wallet address document: the account id plus where its auth and resource servers live."""

    id: str
    asset_code: str
    asset_scale: int
    auth_server: str
    resource_server: str
    public_name: str | None = None

    @classmethod
    def from_json(cls, data: object) -> WalletAddress:
        """Parse a wallet address response, ignoring unknown members."""
        obj, w = _obj(data, "walletAddress"), "walletAddress"
        return cls(
            id=_url(obj, "id", w),
            asset_code=_ascii(obj, "assetCode", w, max_length=_MAX_ASSET_CODE_LENGTH),
            asset_scale=_int(obj, "assetScale", w, 0, 255),
            auth_server=_url(obj, "authServer", w),
            resource_server=_url(obj, "resourceServer", w),
            # An empty name is no name (the consent page needs one, docs/protocol-notes.md §1).
            public_name=_opt_str(obj, "publicName", w) if obj.get("publicName") != "" else None,
        )


# --- grants -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """Outgoing-payment grant limits: ``debit_amount`` xor ``receive_amount``, optional receiver/interval."""

    debit_amount: Amount | None = None
    receive_amount: Amount | None = None
    receiver: str | None = None
    interval: str | None = None

    def __post_init__(self) -> None:
        if self.debit_amount is not None and self.receive_amount is not None:
            raise ValueError("limits take debit_amount or receive_amount, not both")

    def to_json(self) -> dict[str, Any]:
        """Return the wire form of the limits."""
        out: dict[str, Any] = {}
        if self.receiver is not None:
            out["receiver"] = self.receiver
        if self.debit_amount is not None:
            out["debitAmount"] = self.debit_amount.to_json()
        if self.receive_amount is not None:
            out["receiveAmount"] = self.receive_amount.to_json()
        if self.interval is not None:
            out["interval"] = self.interval
        return out

    @classmethod
    def from_json(cls, data: object) -> Limits:
        """Parse a ``limits`` object."""
        obj = _obj(data, "limits")
        debit = _opt_amount(obj, "debitAmount", "limits")
        receive = _opt_amount(obj, "receiveAmount", "limits")
        if debit is not None and receive is not None:
            raise ResponseValidationError("limits: expected debitAmount or receiveAmount, not both")
        return cls(
            debit_amount=debit,
            receive_amount=receive,
            receiver=_opt_receiver(obj, "receiver", "limits"),
            interval=_opt_str(obj, "interval", "limits"),
        )


@dataclass(frozen=True, slots=True)
class AccessItem:
    """One access right: resource ``type``, ``actions``, optional wallet ``identifier`` and ``limits``."""

    type: str
    actions: tuple[str, ...]
    identifier: str | None = None
    limits: Limits | None = None

    @classmethod
    def incoming_payment(
        cls, actions: Sequence[str] = ("create", "read", "complete"), identifier: str | None = None
    ) -> AccessItem:
        """Access to incoming payments (non-interactive at Rafiki)."""
        return cls("incoming-payment", tuple(actions), identifier)

    @classmethod
    def quote(cls, actions: Sequence[str] = ("create", "read")) -> AccessItem:
        """Access to quotes (non-interactive at Rafiki)."""
        return cls("quote", tuple(actions))

    @classmethod
    def outgoing_payment(
        cls, identifier: str, limits: Limits | None = None, actions: Sequence[str] = ("create", "read")
    ) -> AccessItem:
        """Access to send from ``identifier`` (interactive; needs the user's consent)."""
        return cls("outgoing-payment", tuple(actions), identifier, limits)

    def to_json(self) -> dict[str, Any]:
        """Return the wire form of this access item."""
        out: dict[str, Any] = {"type": self.type, "actions": list(self.actions)}
        if self.identifier is not None:
            out["identifier"] = self.identifier
        if self.limits is not None:
            out["limits"] = self.limits.to_json()
        return out

    @classmethod
    def from_json(cls, data: object) -> AccessItem:
        """Parse an access item as echoed by the auth server."""
        obj = _obj(data, "access")
        actions = _list(obj, "actions", "access", required=True)
        limits = obj.get("limits")
        return cls(
            type=_str(obj, "type", "access"),
            actions=tuple(_text(action, f"access.actions[{i}]") for i, action in enumerate(actions)),
            identifier=_opt_url(obj, "identifier", "access"),
            limits=None if limits is None else Limits.from_json(limits),
        )


@dataclass(frozen=True, slots=True)
class InteractRequest:
    """How the user will be sent to consent: redirect, then back to ``finish_uri`` (or poll if None)."""

    finish_uri: str | None = None
    nonce: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.finish_uri is None) != (self.nonce is None):
            raise ValueError("finish_uri and nonce go together")

    def to_json(self) -> dict[str, Any]:
        """Return the wire form of ``interact``."""
        out: dict[str, Any] = {"start": ["redirect"]}
        if self.finish_uri is not None:
            out["finish"] = {"method": "redirect", "uri": self.finish_uri, "nonce": self.nonce}
        return out


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token; ``value`` goes in ``Authorization: GNAP``, ``manage`` rotates or revokes it."""

    value: str = field(repr=False)
    manage: str
    expires_in: int | None
    access: tuple[AccessItem, ...]

    @classmethod
    def from_json(cls, data: object) -> AccessToken:
        """Parse an ``access_token`` object."""
        obj, w = _obj(data, "access_token"), "access_token"
        access = _list(obj, "access", w, max_items=_MAX_ACCESS_ITEMS)
        return cls(
            value=_ascii(obj, "value", w, max_length=_MAX_TOKEN_LENGTH),
            manage=_url(obj, "manage", w),
            # 0 would be a token that is already dead; it is refused like any other nonsense lifetime.
            expires_in=_opt_int(obj, "expires_in", w, 1, MAX_TOKEN_LIFETIME_SECONDS, " seconds"),
            access=tuple(AccessItem.from_json(item) for item in access),
        )


@dataclass(frozen=True, slots=True)
class Continuation:
    """Where and with which token a grant is continued, polled or cancelled; wait in seconds."""

    uri: str
    access_token: str = field(repr=False)
    wait: int | None = None

    @classmethod
    def from_json(cls, data: object) -> Continuation:
        """Parse a ``continue`` object."""
        obj = _obj(data, "continue")
        token = _obj(obj.get("access_token"), "continue.access_token")
        return cls(
            uri=_url(obj, "uri", "continue"),
            access_token=_ascii(token, "value", "continue.access_token", max_length=_MAX_TOKEN_LENGTH),
            wait=_opt_int(obj, "wait", "continue", 0, MAX_CONTINUE_WAIT_SECONDS, " seconds"),
        )


@dataclass(frozen=True, slots=True)
class PendingGrant:
    """A grant waiting for the user: send them to ``redirect``; keep ``finish_nonce`` for the hash check."""

    continuation: Continuation
    redirect: str | None = None
    finish_nonce: str | None = None

    @classmethod
    def from_json(cls, data: object) -> PendingGrant:
        """Parse a grant response that carries no access token yet."""
        obj = _obj(data, "grant")
        interact = obj.get("interact")
        redirect = finish = None
        if interact is not None:
            interact_obj = _obj(interact, "grant.interact")
            redirect = _url(interact_obj, "redirect", "grant.interact", max_length=_MAX_REDIRECT_LENGTH)
            finish = _opt_str(interact_obj, "finish", "grant.interact", max_length=_MAX_NONCE_LENGTH)
        return cls(Continuation.from_json(obj.get("continue")), redirect, finish)


@dataclass(frozen=True, slots=True)
class Grant:
    """A finalized grant: an access token, and the continuation used to cancel the grant."""

    access_token: AccessToken
    continuation: Continuation | None = None

    @classmethod
    def from_json(cls, data: object) -> Grant:
        """Parse a grant response that carries ``access_token``."""
        obj = _obj(data, "grant")
        cont = obj.get("continue")
        return cls(
            AccessToken.from_json(obj.get("access_token")),
            None if cont is None else Continuation.from_json(cont),
        )


def grant_from_json(data: object) -> Grant | PendingGrant:
    """Return a :class:`Grant` when the response has ``access_token``, else a :class:`PendingGrant`."""
    obj = _obj(data, "grant")
    return Grant.from_json(obj) if obj.get("access_token") is not None else PendingGrant.from_json(obj)


# --- resources ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    """How to pay an incoming payment over ILP; the shared secret is never shown."""

    type: str
    ilp_address: str | None = None
    shared_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: object) -> PaymentMethod:
        """Parse a ``methods`` entry."""
        obj = _obj(data, "methods")
        return cls(
            _str(obj, "type", "methods"),
            _opt_str(obj, "ilpAddress", "methods", max_length=_MAX_ILP_ADDRESS_LENGTH),
            _opt_str(obj, "sharedSecret", "methods"),
        )


@dataclass(frozen=True, slots=True)
class IncomingPayment:
    """A payment the receiver expects; done when ``completed`` or ``received_amount`` reaches the target."""

    id: str
    wallet_address: str
    completed: bool
    received_amount: Amount
    created_at: datetime.datetime
    incoming_amount: Amount | None = None
    expires_at: datetime.datetime | None = None
    metadata: Mapping[str, Any] | None = None
    methods: tuple[PaymentMethod, ...] = ()

    @classmethod
    def from_json(cls, data: object) -> IncomingPayment:
        """Parse an incoming payment (with or without ``methods``)."""
        obj, w = _obj(data, "incomingPayment"), "incomingPayment"
        methods = _list(obj, "methods", w)
        return cls(
            id=_url(obj, "id", w),
            wallet_address=_url(obj, "walletAddress", w),
            completed=_bool(obj, "completed", w, default=False),
            received_amount=_amount(obj, "receivedAmount", w),
            created_at=_time(obj, "createdAt", w),
            incoming_amount=_opt_amount(obj, "incomingAmount", w),
            expires_at=_opt_time(obj, "expiresAt", w),
            metadata=_metadata(obj, w),
            methods=tuple(PaymentMethod.from_json(method) for method in methods),
        )

    @property
    def is_paid(self) -> bool:
        """True once the receiver has what it asked for (the reliable success test with fees)."""
        if self.completed:
            return True
        return self.incoming_amount is not None and self.received_amount.value >= self.incoming_amount.value


@dataclass(frozen=True, slots=True)
class PublicIncomingPayment:
    """The unauthenticated view of an incoming payment."""

    auth_server: str
    received_amount: Amount | None = None

    @classmethod
    def from_json(cls, data: object) -> PublicIncomingPayment:
        """Parse the public incoming payment view."""
        obj = _obj(data, "publicIncomingPayment")
        return cls(
            _url(obj, "authServer", "publicIncomingPayment"),
            _opt_amount(obj, "receivedAmount", "publicIncomingPayment"),
        )


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced offer: ``debit_amount`` (with fees) buys ``receive_amount`` until ``expires_at``."""

    id: str
    wallet_address: str
    receiver: str
    debit_amount: Amount
    receive_amount: Amount
    method: str
    created_at: datetime.datetime
    expires_at: datetime.datetime | None = None

    @classmethod
    def from_json(cls, data: object) -> Quote:
        """Parse a quote."""
        obj, w = _obj(data, "quote"), "quote"
        return cls(
            id=_url(obj, "id", w),
            wallet_address=_url(obj, "walletAddress", w),
            receiver=_receiver(obj, "receiver", w),
            debit_amount=_amount(obj, "debitAmount", w),
            receive_amount=_amount(obj, "receiveAmount", w),
            method=_str(obj, "method", w),
            created_at=_time(obj, "createdAt", w),
            expires_at=_opt_time(obj, "expiresAt", w),
        )


@dataclass(frozen=True, slots=True)
class OutgoingPayment:
    """A payment being sent; ``failed`` or the receiver's incoming payment tells the outcome.

    ``grant_spent_*`` (create responses only) are what the grant had spent *before* this payment.
    """

    id: str
    wallet_address: str
    receiver: str
    debit_amount: Amount
    receive_amount: Amount
    sent_amount: Amount
    created_at: datetime.datetime
    failed: bool = False
    quote_id: str | None = None
    metadata: Mapping[str, Any] | None = None
    grant_spent_debit_amount: Amount | None = None
    grant_spent_receive_amount: Amount | None = None

    @classmethod
    def from_json(cls, data: object) -> OutgoingPayment:
        """Parse an outgoing payment (with or without grant spent amounts)."""
        obj, w = _obj(data, "outgoingPayment"), "outgoingPayment"
        return cls(
            id=_url(obj, "id", w),
            wallet_address=_url(obj, "walletAddress", w),
            receiver=_receiver(obj, "receiver", w),
            debit_amount=_amount(obj, "debitAmount", w),
            receive_amount=_amount(obj, "receiveAmount", w),
            sent_amount=_amount(obj, "sentAmount", w),
            created_at=_time(obj, "createdAt", w),
            failed=_bool(obj, "failed", w, default=False),
            quote_id=_opt_url(obj, "quoteId", w),
            metadata=_metadata(obj, w),
            grant_spent_debit_amount=_opt_amount(obj, "grantSpentDebitAmount", w),
            grant_spent_receive_amount=_opt_amount(obj, "grantSpentReceiveAmount", w),
        )


@dataclass(frozen=True, slots=True)
class GrantSpentAmounts:
    """What an outgoing-payment grant has spent in the current interval; None before any payment."""

    spent_debit_amount: Amount | None
    spent_receive_amount: Amount | None

    @classmethod
    def from_json(cls, data: object) -> GrantSpentAmounts:
        """Parse ``{"spentDebitAmount": amount|null, "spentReceiveAmount": amount|null}``."""
        obj = _obj(data, "outgoingPaymentGrant")
        return cls(
            _opt_amount(obj, "spentDebitAmount", "outgoingPaymentGrant"),
            _opt_amount(obj, "spentReceiveAmount", "outgoingPaymentGrant"),
        )


@dataclass(frozen=True, slots=True)
class PaginatedList(Generic[T]):
    """One page of a list endpoint plus its cursors."""

    items: tuple[T, ...]
    start_cursor: str | None
    end_cursor: str | None
    has_next_page: bool
    has_previous_page: bool


def paginated_from_json(data: object, parse: Callable[[object], T]) -> PaginatedList[T]:
    """Parse ``{"pagination": {...}, "result": [...]}`` with ``parse`` for each item."""
    obj = _obj(data, "list")
    page = _obj(obj.get("pagination"), "list.pagination")
    result = _list(obj, "result", "list", required=True)
    return PaginatedList(
        items=tuple(parse(item) for item in result),
        start_cursor=_opt_str(page, "startCursor", "list.pagination"),
        end_cursor=_opt_str(page, "endCursor", "list.pagination"),
        has_next_page=_bool(page, "hasNextPage", "list.pagination"),
        has_previous_page=_bool(page, "hasPreviousPage", "list.pagination"),
    )
