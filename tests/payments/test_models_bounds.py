"""payments.models: whatever a wallet sends, parsing gives a bounded object or a ResponseValidationError."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments import (
    AccessItem,
    AccessToken,
    Amount,
    Continuation,
    Grant,
    GrantSpentAmounts,
    IncomingPayment,
    Limits,
    OutgoingPayment,
    PaymentMethod,
    PendingGrant,
    PublicIncomingPayment,
    Quote,
    ResponseValidationError,
    WalletAddress,
)
from payments.models import (
    MAX_CONTINUE_WAIT_SECONDS,
    MAX_TOKEN_LIFETIME_SECONDS,
    PaginatedList,
    grant_from_json,
    paginated_from_json,
)

# --- valid documents, shaped as the reference wallet answers ------------------------------------

AMOUNT = {"value": "1000", "assetCode": "EUR", "assetScale": 2}
WALLET = {
    "id": "https://w.example/alice",
    "publicName": "Alice",
    "assetCode": "EUR",
    "assetScale": 2,
    "authServer": "https://auth.example/t1",
    "resourceServer": "https://rs.example/t1",
}
LIMITS = {
    "receiver": "https://rs.example/t1/incoming-payments/1",
    "debitAmount": AMOUNT,
    "interval": "R/2026-09-01T12:00:00Z/P1M",
}
ACCESS_ITEM = {
    "actions": ["create", "read"],
    "identifier": "https://w.example/alice",
    "type": "outgoing-payment",
    "limits": LIMITS,
}
TOKEN = {
    "value": "OS9M2PMHKUR64TB8N6BW",
    "manage": "https://auth.example/token/1",
    "expires_in": 600,
    "access": [ACCESS_ITEM],
}
CONTINUE = {
    "access_token": {"value": "33OMUKMKSKU80UPRY5NM"},
    "uri": "https://auth.example/continue/1",
    "wait": 5,
}
PENDING = {
    "interact": {
        "redirect": "https://auth.example/interact/1/60CE94025B3FAF6B",
        "finish": "60CE94025B3FAF6B",
    },
    "continue": CONTINUE,
}
GRANT = {"access_token": TOKEN, "continue": {k: v for k, v in CONTINUE.items() if k != "wait"}}
METHOD = {"type": "ilp", "ilpAddress": "test.wallet.alice", "sharedSecret": "c2VjcmV0"}
INCOMING = {
    "id": "https://rs.example/t1/incoming-payments/1",
    "walletAddress": "https://w.example/bob",
    "completed": False,
    "incomingAmount": AMOUNT,
    "receivedAmount": {"value": "0", "assetCode": "EUR", "assetScale": 2},
    "expiresAt": "2026-09-02T12:00:00.000Z",
    "createdAt": "2026-09-01T12:00:00.000Z",
    "metadata": {"attemptId": "a1"},
    "methods": [METHOD],
}
PUBLIC_INCOMING = {"authServer": "https://auth.example/t1", "receivedAmount": AMOUNT}
QUOTE = {
    "id": "https://rs.example/t1/quotes/1",
    "walletAddress": "https://w.example/alice",
    "receiver": "https://rs.example/t1/incoming-payments/1",
    "debitAmount": {"value": "1020", "assetCode": "EUR", "assetScale": 2},
    "receiveAmount": AMOUNT,
    "method": "ilp",
    "createdAt": "2026-09-01T12:00:00.000Z",
    "expiresAt": "2026-09-01T12:05:00.000Z",
}
OUTGOING = {
    "id": "https://rs.example/t1/outgoing-payments/1",
    "walletAddress": "https://w.example/alice",
    "quoteId": "https://rs.example/t1/quotes/1",
    "receiver": "https://rs.example/t1/incoming-payments/1",
    "failed": False,
    "debitAmount": {"value": "1020", "assetCode": "EUR", "assetScale": 2},
    "receiveAmount": AMOUNT,
    "sentAmount": {"value": "0", "assetCode": "EUR", "assetScale": 2},
    "grantSpentDebitAmount": {"value": "600", "assetCode": "EUR", "assetScale": 2},
    "metadata": {"idempotencyId": "i1"},
    "createdAt": "2026-09-01T12:00:00.000Z",
}
SPENT = {"spentDebitAmount": AMOUNT, "spentReceiveAmount": None}
PAGE = {
    "pagination": {"startCursor": "a", "endCursor": "b", "hasNextPage": True, "hasPreviousPage": False},
    "result": [INCOMING],
}


def _page_of_incoming(data: object) -> PaginatedList[IncomingPayment]:
    return paginated_from_json(data, IncomingPayment.from_json)


Parser = Callable[[object], object]
PARSERS: list[tuple[str, Parser, dict[str, Any], type | tuple[type, ...]]] = [
    ("amount", Amount.from_json, AMOUNT, Amount),
    ("wallet address", WalletAddress.from_json, WALLET, WalletAddress),
    ("limits", Limits.from_json, LIMITS, Limits),
    ("access item", AccessItem.from_json, ACCESS_ITEM, AccessItem),
    ("access token", AccessToken.from_json, TOKEN, AccessToken),
    ("continuation", Continuation.from_json, CONTINUE, Continuation),
    ("pending grant", PendingGrant.from_json, PENDING, PendingGrant),
    ("grant", Grant.from_json, GRANT, Grant),
    ("grant or pending", grant_from_json, GRANT, (Grant, PendingGrant)),
    ("pending or grant", grant_from_json, PENDING, (Grant, PendingGrant)),
    ("payment method", PaymentMethod.from_json, METHOD, PaymentMethod),
    ("incoming payment", IncomingPayment.from_json, INCOMING, IncomingPayment),
    ("public incoming payment", PublicIncomingPayment.from_json, PUBLIC_INCOMING, PublicIncomingPayment),
    ("quote", Quote.from_json, QUOTE, Quote),
    ("outgoing payment", OutgoingPayment.from_json, OUTGOING, OutgoingPayment),
    ("grant spent amounts", GrantSpentAmounts.from_json, SPENT, GrantSpentAmounts),
    ("page", _page_of_incoming, PAGE, PaginatedList),
]
PARSER_IDS = [name for name, *_ in PARSERS]

_DELETE = object()
# What no parsed string may hold: control characters, bidirectional overrides, lone surrogates.
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _with(doc: Mapping[str, Any], path: tuple[str | int, ...], value: object) -> Any:
    """A deep copy of ``doc`` with the member at ``path`` set to ``value`` (or removed for ``_DELETE``)."""
    out: Any = copy.deepcopy(doc)
    if not path:
        return value
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


def _at(doc: Mapping[str, Any], path: tuple[str | int, ...]) -> Any:
    value: Any = doc
    for step in path:
        value = value[step]
    return value


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every member path in a JSON document (the root included)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _assert_bounded(value: object) -> None:
    """Everything a parser let through is within the bounds the client relies on."""
    if isinstance(value, Amount):
        assert type(value.value) is int and 0 <= value.value <= 2**64 - 1
        assert type(value.asset_scale) is int and 0 <= value.asset_scale <= 255
        assert (
            1 <= len(value.asset_code) <= 16 and value.asset_code.isascii() and value.asset_code.isprintable()
        )
    elif isinstance(value, Continuation):
        assert value.wait is None or (
            type(value.wait) is int and 0 <= value.wait <= MAX_CONTINUE_WAIT_SECONDS
        )
    elif isinstance(value, AccessToken):
        assert value.expires_in is None or 1 <= value.expires_in <= MAX_TOKEN_LIFETIME_SECONDS
    elif isinstance(value, datetime.datetime):
        assert value.utcoffset() == datetime.timedelta(0)
    elif isinstance(value, str):
        assert 0 < len(value) <= 1024 and not UNPRINTABLE.search(value)
    elif isinstance(value, bool | None):
        return
    elif isinstance(value, tuple):
        for item in value:
            _assert_bounded(item)
    if dataclasses.is_dataclass(value):
        for member in dataclasses.fields(value):
            if member.name != "metadata":  # free-form by the spec
                _assert_bounded(getattr(value, member.name))


# --- hostile values -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)  # json.loads accepts NaN and Infinity
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
hostile_values = json_values | st.sampled_from(
    [
        -1,
        256,
        MAX_CONTINUE_WAIT_SECONDS + 1,
        10**9,
        2**63,
        2**64,
        -(2**64),
        10**30,
        1.5,
        float("nan"),
        float("inf"),
        True,
        "",
        " ",
        "-1",
        "1e3",
        "18446744073709551616",
        "9" * 5000,
        "0" * 5000 + "7",
        "\x00",
        "\ud800",
        "line\nbreak",
        "javascript:alert(1)",
        "https://",
        "https://host:99999/",
        "https://[::1",
        "https://w.example/" + "x" * 5000,
        "2026-02-30T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        [],
        {},
        [[[[[]]]]],
        {"value": {"value": {}}},
    ]
)


@pytest.mark.parametrize(("parse", "doc", "kind"), [p[1:] for p in PARSERS], ids=PARSER_IDS)
def test_the_valid_documents_parse(parse: Parser, doc: dict[str, Any], kind: type) -> None:
    # given a well-formed document / when parsed / then it is the expected type, within bounds
    parsed = parse(doc)
    assert isinstance(parsed, kind)
    _assert_bounded(parsed)


@pytest.mark.parametrize(("parse", "doc", "kind"), [p[1:] for p in PARSERS], ids=PARSER_IDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_one_hostile_member_gives_a_validation_error_or_a_bounded_object(
    parse: Parser, doc: dict[str, Any], kind: type, data: st.DataObject
) -> None:
    # given a valid document with one member, anywhere, replaced by hostile JSON or removed
    path = data.draw(st.sampled_from(_paths(doc)), label="path")
    value = data.draw(hostile_values | st.just(_DELETE), label="value") if path else data.draw(hostile_values)
    hostile = _with(doc, path, value)

    # when parsed
    try:
        parsed = parse(hostile)
    except ResponseValidationError:
        return

    # then (no other exception came out) what came back is the right type and within bounds
    assert isinstance(parsed, kind)
    _assert_bounded(parsed)


@pytest.mark.parametrize(("parse", "doc", "kind"), [p[1:] for p in PARSERS], ids=PARSER_IDS)
@settings(max_examples=50, deadline=None)
@given(garbage=json_values)
def test_garbage_documents_give_a_validation_error_or_a_bounded_object(
    parse: Parser, doc: dict[str, Any], kind: type, garbage: object
) -> None:
    # given any JSON value at all / when parsed / then only ResponseValidationError or a bounded object
    try:
        parsed = parse(garbage)
    except ResponseValidationError:
        return
    assert isinstance(parsed, kind)
    _assert_bounded(parsed)


@pytest.mark.parametrize(("parse", "doc", "kind"), [p[1:] for p in PARSERS], ids=PARSER_IDS)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_unknown_members_are_ignored(
    parse: Parser, doc: dict[str, Any], kind: type, data: st.DataObject
) -> None:
    # given a valid document with an unknown member added to one of its objects (metadata aside)
    objects = [path for path in _paths(doc) if isinstance(_at(doc, path), dict) and "metadata" not in path]
    path = data.draw(st.sampled_from(objects), label="object")
    name = "x-" + data.draw(st.text(max_size=8), label="name")
    extended = _with(doc, (*path, name), data.draw(hostile_values, label="value"))

    # when parsed / then the result is the same as without it
    assert parse(extended) == parse(doc)


# --- each bound, with the error it gives --------------------------------------------------------

SCALE = "expected an integer from 0 to 255"
DIGITS = "expected a string of digits from 0 to 2**64-1"
URL = "expected an absolute http(s) URL"
TIME = "expected an RFC 3339 date-time"
WAIT = f"continue.wait: expected an integer from 0 to {MAX_CONTINUE_WAIT_SECONDS} seconds"
LIFETIME = f"access_token.expires_in: expected an integer from 1 to {MAX_TOKEN_LIFETIME_SECONDS} seconds"


@pytest.mark.parametrize(
    ("parse", "doc", "path", "value", "message"),
    [
        # assetScale: an integer 0-255, in amounts and wallet addresses
        (Amount.from_json, AMOUNT, ("assetScale",), -1, f"amount.assetScale: {SCALE}"),
        (Amount.from_json, AMOUNT, ("assetScale",), 256, f"amount.assetScale: {SCALE}"),
        (Amount.from_json, AMOUNT, ("assetScale",), 2.0, f"amount.assetScale: {SCALE}"),
        (Amount.from_json, AMOUNT, ("assetScale",), True, f"amount.assetScale: {SCALE}"),
        (Amount.from_json, AMOUNT, ("assetScale",), "2", f"amount.assetScale: {SCALE}"),
        (WalletAddress.from_json, WALLET, ("assetScale",), 10**30, f"walletAddress.assetScale: {SCALE}"),
        (WalletAddress.from_json, WALLET, ("assetScale",), -2, f"walletAddress.assetScale: {SCALE}"),
        # value: a string of ASCII digits within uint64
        (Amount.from_json, AMOUNT, ("value",), "18446744073709551616", f"amount.value: {DIGITS}"),
        (Amount.from_json, AMOUNT, ("value",), "9" * 5000, f"amount.value: {DIGITS}"),
        (Amount.from_json, AMOUNT, ("value",), 1000, f"amount.value: {DIGITS}"),
        (Amount.from_json, AMOUNT, ("value",), "", f"amount.value: {DIGITS}"),
        (Amount.from_json, AMOUNT, ("value",), " 1", f"amount.value: {DIGITS}"),
        (
            Quote.from_json,
            QUOTE,
            ("debitAmount", "value"),
            "-5",
            f"quote.debitAmount.value: {DIGITS}",
        ),
        # assetCode: 1-16 visible ASCII characters
        (Amount.from_json, AMOUNT, ("assetCode",), "", "amount.assetCode: expected a non-empty string"),
        (Amount.from_json, AMOUNT, ("assetCode",), "X" * 17, "amount.assetCode: longer than 16 characters"),
        (
            Amount.from_json,
            AMOUNT,
            ("assetCode",),
            "US D",
            "amount.assetCode: expected visible ASCII characters only",
        ),
        (
            WalletAddress.from_json,
            WALLET,
            ("assetCode",),
            "€",
            "walletAddress.assetCode: expected visible ASCII characters only",
        ),
        # URLs: absolute http(s), at most 500 characters (the consent redirect 1000)
        (WalletAddress.from_json, WALLET, ("id",), "w.example/alice", f"walletAddress.id: {URL}"),
        (
            WalletAddress.from_json,
            WALLET,
            ("authServer",),
            "ftp://a.example/",
            f"walletAddress.authServer: {URL}",
        ),
        (
            WalletAddress.from_json,
            WALLET,
            ("resourceServer",),
            "https://",
            f"walletAddress.resourceServer: {URL}",
        ),
        (
            AccessToken.from_json,
            TOKEN,
            ("manage",),
            "https://a.example:99999/t",
            f"access_token.manage: {URL}",
        ),
        (Continuation.from_json, CONTINUE, ("uri",), "https://[::1/c", f"continue.uri: {URL}"),
        (Continuation.from_json, CONTINUE, ("uri",), 42, "continue.uri: expected a non-empty string"),
        (
            PendingGrant.from_json,
            PENDING,
            ("interact", "redirect"),
            "javascript:alert(1)",
            f"grant.interact.redirect: {URL}",
        ),
        (
            PendingGrant.from_json,
            PENDING,
            ("interact", "redirect"),
            "https://a.example/" + "x" * 1000,
            "grant.interact.redirect: longer than 1000 characters",
        ),
        (
            IncomingPayment.from_json,
            INCOMING,
            ("id",),
            "https://rs.example/" + "x" * 500,
            "incomingPayment.id: longer than 500 characters",
        ),
        (
            IncomingPayment.from_json,
            INCOMING,
            ("walletAddress",),
            "https://a b/",
            f"incomingPayment.walletAddress: {URL}",
        ),
        (
            PublicIncomingPayment.from_json,
            PUBLIC_INCOMING,
            ("authServer",),
            "/auth",
            f"publicIncomingPayment.authServer: {URL}",
        ),
        (OutgoingPayment.from_json, OUTGOING, ("quoteId",), "q1", f"outgoingPayment.quoteId: {URL}"),
        (AccessItem.from_json, ACCESS_ITEM, ("identifier",), "alice", f"access.identifier: {URL}"),
        (
            Quote.from_json,
            QUOTE,
            ("receiver",),
            "https://rs.example/t1/quotes/1",
            "quote.receiver: expected an incoming payment URL",
        ),
        (
            Limits.from_json,
            LIMITS,
            ("receiver",),
            "https://rs.example/ip/1",
            "limits.receiver: expected an incoming payment URL",
        ),
        # date-times: RFC 3339 with an offset, within datetime's range once in UTC
        (Quote.from_json, QUOTE, ("createdAt",), "2026-09-01", f"quote.createdAt: {TIME}"),
        (Quote.from_json, QUOTE, ("createdAt",), "2026-09-01T12:00:00", f"quote.createdAt: {TIME}"),
        (Quote.from_json, QUOTE, ("createdAt",), "20260901T120000Z", f"quote.createdAt: {TIME}"),
        (Quote.from_json, QUOTE, ("createdAt",), "2026-W35-2T12:00:00Z", f"quote.createdAt: {TIME}"),
        (Quote.from_json, QUOTE, ("createdAt",), "2026-13-01T00:00:00Z", f"quote.createdAt: {TIME}"),
        (Quote.from_json, QUOTE, ("createdAt",), "2026-09-01T12:00:60Z", f"quote.createdAt: {TIME}"),
        (Quote.from_json, QUOTE, ("createdAt",), "٢٠٢٦-09-01T12:00:00Z", f"quote.createdAt: {TIME}"),
        (Quote.from_json, QUOTE, ("expiresAt",), "0001-01-01T00:00:00+01:00", f"quote.expiresAt: {TIME}"),
        (Quote.from_json, QUOTE, ("expiresAt",), "9999-12-31T23:59:59-01:00", f"quote.expiresAt: {TIME}"),
        (Quote.from_json, QUOTE, ("expiresAt",), 1767268800, "quote.expiresAt: expected a non-empty string"),
        # booleans: real booleans
        (
            IncomingPayment.from_json,
            INCOMING,
            ("completed",),
            "false",
            "incomingPayment.completed: expected a boolean",
        ),
        (OutgoingPayment.from_json, OUTGOING, ("failed",), 0, "outgoingPayment.failed: expected a boolean"),
        (
            _page_of_incoming,
            PAGE,
            ("pagination", "hasNextPage"),
            1,
            "list.pagination.hasNextPage: expected a boolean",
        ),
        # continue.wait: 0 to the cap, refused beyond it
        (Continuation.from_json, CONTINUE, ("wait",), MAX_CONTINUE_WAIT_SECONDS + 1, WAIT),
        (Continuation.from_json, CONTINUE, ("wait",), 10**9, WAIT),
        (Continuation.from_json, CONTINUE, ("wait",), 10**400, WAIT),
        (Continuation.from_json, CONTINUE, ("wait",), -1, WAIT),
        (Continuation.from_json, CONTINUE, ("wait",), 5.0, WAIT),
        (Continuation.from_json, CONTINUE, ("wait",), float("inf"), WAIT),
        (Continuation.from_json, CONTINUE, ("wait",), "5", WAIT),
        # expires_in: 1 to the cap
        (AccessToken.from_json, TOKEN, ("expires_in",), 0, LIFETIME),
        (AccessToken.from_json, TOKEN, ("expires_in",), -600, LIFETIME),
        (AccessToken.from_json, TOKEN, ("expires_in",), MAX_TOKEN_LIFETIME_SECONDS + 1, LIFETIME),
        (AccessToken.from_json, TOKEN, ("expires_in",), 10**18, LIFETIME),
        # tokens: visible ASCII, at most 500 characters
        (
            AccessToken.from_json,
            TOKEN,
            ("value",),
            "TOKEN VALUE",
            "access_token.value: expected visible ASCII characters only",
        ),
        (
            Continuation.from_json,
            CONTINUE,
            ("access_token", "value"),
            "T" * 501,
            "continue.access_token.value: longer than 500 characters",
        ),
        (
            Continuation.from_json,
            CONTINUE,
            ("access_token", "value"),
            "TOKEN\r\nX-Injected: 1",
            "continue.access_token.value: contains control characters",
        ),
        (
            PendingGrant.from_json,
            PENDING,
            ("interact", "finish"),
            "N" * 101,
            "grant.interact.finish: longer than 100 characters",
        ),
        # other strings: no control characters or lone surrogates, at most 1024 characters
        (
            WalletAddress.from_json,
            WALLET,
            ("publicName",),
            "\ud800",
            "walletAddress.publicName: contains control characters",
        ),
        (
            WalletAddress.from_json,
            WALLET,
            ("publicName",),
            "A" * 1025,
            "walletAddress.publicName: longer than 1024 characters",
        ),
        (
            WalletAddress.from_json,
            WALLET,
            ("publicName",),
            ["Alice"],
            "walletAddress.publicName: expected a non-empty string",
        ),
        (Quote.from_json, QUOTE, ("method",), "ilp\x00", "quote.method: contains control characters"),
        (
            WalletAddress.from_json,
            WALLET,
            ("publicName",),
            "Alice\u202egnp.exe",
            "walletAddress.publicName: contains control characters",
        ),
        (
            PaymentMethod.from_json,
            METHOD,
            ("ilpAddress",),
            "test." + "a" * 1019,
            "methods.ilpAddress: longer than 1023 characters",
        ),
        # arrays: arrays, of what they should hold
        (
            AccessToken.from_json,
            TOKEN,
            ("access",),
            {"type": "quote"},
            "access_token.access: expected a list",
        ),
        (
            AccessToken.from_json,
            TOKEN,
            ("access",),
            [ACCESS_ITEM] * 4,
            "access_token.access: more than 3 items",
        ),
        (AccessItem.from_json, ACCESS_ITEM, ("actions",), "read", "access.actions: expected a list"),
        (
            AccessItem.from_json,
            ACCESS_ITEM,
            ("actions", 1),
            ["read"],
            "access.actions[1]: expected a non-empty string",
        ),
        (IncomingPayment.from_json, INCOMING, ("methods",), {}, "incomingPayment.methods: expected a list"),
        (_page_of_incoming, PAGE, ("result",), _DELETE, "list.result: expected a list"),
        (_page_of_incoming, PAGE, ("result", 0), [], "incomingPayment: expected a JSON object"),
        # objects: objects, and limits with one amount only
        (
            IncomingPayment.from_json,
            INCOMING,
            ("metadata",),
            ["x"],
            "incomingPayment.metadata: expected a JSON object",
        ),
        (Grant.from_json, GRANT, ("access_token",), "TOKEN", "access_token: expected a JSON object"),
        (
            Limits.from_json,
            LIMITS,
            ("receiveAmount",),
            AMOUNT,
            "limits: expected debitAmount or receiveAmount, not both",
        ),
    ],
)
def test_each_bound_is_refused_with_a_message_naming_the_field(
    parse: Parser, doc: dict[str, Any], path: tuple[str | int, ...], value: object, message: str
) -> None:
    # given a valid document with one member out of bounds
    hostile = _with(doc, path, value)

    # when parsed / then the error names the member and the rule
    with pytest.raises(ResponseValidationError) as caught:
        parse(hostile)
    assert str(caught.value) == message


def test_limits_at_the_edges_are_accepted() -> None:
    # given values at the very edges of each bound / when parsed / then they are kept exactly
    amount = Amount.from_json({"value": "18446744073709551615", "assetCode": "X" * 16, "assetScale": 255})
    padded = Amount.from_json({"value": "0" * 5000 + "7", "assetCode": "EUR", "assetScale": 0})
    waits = [
        Continuation.from_json(_with(CONTINUE, ("wait",), w)).wait for w in (0, MAX_CONTINUE_WAIT_SECONDS)
    ]
    lifetimes = [
        AccessToken.from_json(_with(TOKEN, ("expires_in",), s)).expires_in
        for s in (1, MAX_TOKEN_LIFETIME_SECONDS)
    ]

    assert amount == Amount(2**64 - 1, "X" * 16, 255)
    assert padded == Amount(7, "EUR", 0)
    assert waits == [0, MAX_CONTINUE_WAIT_SECONDS]
    assert lifetimes == [1, MAX_TOKEN_LIFETIME_SECONDS]


def test_date_times_are_read_strictly_and_kept_in_utc() -> None:
    # given RFC 3339 date-times with an offset, lower-case separators and nanoseconds
    quote = Quote.from_json(
        QUOTE | {"createdAt": "2026-09-01T14:00:00.5+02:00", "expiresAt": "2026-09-01t12:05:00.123456789z"}
    )

    # when read / then they are the same instants, in UTC (sub-microseconds dropped)
    assert quote.created_at == datetime.datetime(2026, 9, 1, 12, 0, 0, 500000, tzinfo=datetime.UTC)
    assert quote.created_at.utcoffset() == datetime.timedelta(0)
    assert quote.expires_at == datetime.datetime(2026, 9, 1, 12, 5, 0, 123456, tzinfo=datetime.UTC)


def test_an_empty_or_null_public_name_is_no_name() -> None:
    # given wallet addresses with an empty and a null publicName / when parsed / then there is no name
    assert WalletAddress.from_json(WALLET | {"publicName": ""}).public_name is None
    assert WalletAddress.from_json(WALLET | {"publicName": None}).public_name is None
