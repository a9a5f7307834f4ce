"""payments.models: parsing at the edge, integer money, and no secrets in repr."""

from __future__ import annotations

import datetime

import pytest

from payments import (
    AccessItem,
    AccessToken,
    Amount,
    ClientConfig,
    Continuation,
    Grant,
    GrantSpentAmounts,
    IncomingPayment,
    Limits,
    OutgoingPayment,
    PendingGrant,
    ResponseValidationError,
    generate_private_key,
)
from payments.models import grant_from_json, paginated_from_json, to_utc_string


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Amount(1000, "USD", 2), "10.00 USD"),
        (Amount(5, "EUR", 2), "0.05 EUR"),
        (Amount(0, "EUR", 2), "0.00 EUR"),
        (Amount(123, "JPY", 0), "123 JPY"),
        (Amount(2**64 - 1, "XRP", 9), "18446744073.709551615 XRP"),
    ],
)
def test_amount_format_uses_integer_math(amount: Amount, text: str) -> None:
    # given an amount / when formatted / then the digits are exact
    assert amount.format() == text


def test_amount_round_trips_the_wire_form() -> None:
    # given the wire form / when parsed and written back / then nothing changes
    wire = {"value": "18446744073709551615", "assetCode": "EUR", "assetScale": 2}
    assert Amount.from_json(wire).to_json() == wire
    assert Amount.from_json(wire).value == 2**64 - 1


NOT_UINT = "amount.value: expected a string of digits from 0 to 2**64-1"


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ({"value": 1000, "assetCode": "EUR", "assetScale": 2}, NOT_UINT),
        ({"value": "10.5", "assetCode": "EUR", "assetScale": 2}, NOT_UINT),
        ({"value": "-1", "assetCode": "EUR", "assetScale": 2}, NOT_UINT),
        ({"value": "1e3", "assetCode": "EUR", "assetScale": 2}, NOT_UINT),
        ({"value": "١٢", "assetCode": "EUR", "assetScale": 2}, NOT_UINT),
        ({"value": "18446744073709551616", "assetCode": "EUR", "assetScale": 2}, NOT_UINT),
        (
            {"value": "1", "assetCode": "EUR", "assetScale": 2.0},
            "amount.assetScale: expected an integer from 0 to 255",
        ),
        ({"value": "1", "assetCode": "", "assetScale": 2}, "amount.assetCode: expected a non-empty string"),
        ("1000", "amount: expected a JSON object"),
    ],
)
def test_amount_rejects_anything_but_unsigned_integer_strings(wire: object, message: str) -> None:
    # given a malformed amount / when parsed / then the error names the field
    with pytest.raises(ResponseValidationError) as caught:
        Amount.from_json(wire)
    assert str(caught.value) == message


def test_amount_constructor_rejects_floats_and_bools() -> None:
    # given non-integer values / when an Amount is built / then it refuses
    with pytest.raises(ValueError, match="amount value must be an integer"):
        Amount(10.0, "EUR", 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="amount value must be an integer"):
        Amount(True, "EUR", 2)


def test_grant_and_pending_grant_are_different_types() -> None:
    # given Rafiki's approved and pending grant responses
    approved = {
        "access_token": {
            "value": "OS9M2PMHKUR64TB8N6BW",
            "manage": "https://as.example/token/1",
            "expires_in": 600,
            "access": [{"type": "incoming-payment", "actions": ["read", "create"]}],
        },
        "continue": {
            "access_token": {"value": "33OMUKMKSKU80UPRY5NM"},
            "uri": "https://as.example/continue/1",
        },
    }
    pending = {
        "interact": {
            "redirect": "https://as.example/interact/1/60CE94025B3FAF6B",
            "finish": "60CE94025B3FAF6B",
        },
        "continue": {
            "access_token": {"value": "33OMUKMKSKU80UPRY5NM"},
            "uri": "https://as.example/continue/1",
            "wait": 5,
        },
    }

    # when parsed
    grant, waiting = grant_from_json(approved), grant_from_json(pending)

    # then each has its own type and fields
    assert grant == Grant(
        AccessToken(
            "OS9M2PMHKUR64TB8N6BW",
            "https://as.example/token/1",
            600,
            (AccessItem("incoming-payment", ("read", "create")),),
        ),
        Continuation("https://as.example/continue/1", "33OMUKMKSKU80UPRY5NM"),
    )
    assert waiting == PendingGrant(
        Continuation("https://as.example/continue/1", "33OMUKMKSKU80UPRY5NM", 5),
        "https://as.example/interact/1/60CE94025B3FAF6B",
        "60CE94025B3FAF6B",
    )


def test_reprs_never_show_tokens_secrets_or_keys() -> None:
    # given objects carrying a token, a continuation token, a shared secret and a private key
    token = AccessToken("TOKENVALUE1234567890", "https://as.example/token/1", 600, ())
    grant = Grant(token, Continuation("https://as.example/continue/1", "CONTINUETOKEN0000000"))
    payment = IncomingPayment.from_json(
        {
            "id": "https://rs.example/incoming-payments/1",
            "walletAddress": "https://w.example/bob",
            "completed": False,
            "receivedAmount": {"value": "0", "assetCode": "EUR", "assetScale": 2},
            "createdAt": "2026-09-01T12:00:00.000Z",
            "methods": [{"type": "ilp", "ilpAddress": "test.x", "sharedSecret": "SHAREDSECRET"}],
        }
    )
    config = ClientConfig(
        wallet_address_url="https://w.example/me", key_id="k1", private_key=generate_private_key()
    )

    # when shown
    text = repr(token) + repr(grant) + repr(payment) + repr(config)

    # then none of the secrets appear
    for secret in ("TOKENVALUE1234567890", "CONTINUETOKEN0000000", "SHAREDSECRET", "PrivateKey"):
        assert secret not in text


def test_outgoing_payment_with_and_without_grant_spent_amounts() -> None:
    # given a create response (grantSpent*) and a GET response (none)
    base = {
        "id": "https://rs.example/outgoing-payments/1",
        "walletAddress": "https://w.example/alice",
        "quoteId": "https://rs.example/quotes/1",
        "receiver": "https://rs.example/incoming-payments/2",
        "failed": False,
        "debitAmount": {"value": "1020", "assetCode": "EUR", "assetScale": 2},
        "receiveAmount": {"value": "1000", "assetCode": "EUR", "assetScale": 2},
        "sentAmount": {"value": "0", "assetCode": "EUR", "assetScale": 2},
        "createdAt": "2026-09-01T12:00:00.000Z",
    }
    created = base | {"grantSpentDebitAmount": {"value": "600", "assetCode": "EUR", "assetScale": 2}}

    # when parsed
    on_create, on_get = OutgoingPayment.from_json(created), OutgoingPayment.from_json(base)

    # then only the create carries the spent amount, and times are aware datetimes
    assert (on_create.grant_spent_debit_amount, on_create.grant_spent_receive_amount) == (
        Amount(600, "EUR", 2),
        None,
    )
    assert on_get.grant_spent_debit_amount is None
    assert on_get.created_at == datetime.datetime(2026, 9, 1, 12, tzinfo=datetime.UTC)


def test_grant_spent_amounts_allow_nulls_and_pages_parse() -> None:
    # given null spent amounts and an empty page / when parsed / then None and an empty tuple
    assert GrantSpentAmounts.from_json(
        {"spentDebitAmount": None, "spentReceiveAmount": None}
    ) == GrantSpentAmounts(None, None)
    page = paginated_from_json(
        {
            "pagination": {
                "startCursor": "a",
                "endCursor": "b",
                "hasNextPage": True,
                "hasPreviousPage": False,
            },
            "result": [],
        },
        IncomingPayment.from_json,
    )
    assert (page.items, page.start_cursor, page.end_cursor, page.has_next_page) == ((), "a", "b", True)


def test_missing_required_field_is_a_validation_error() -> None:
    # given a quote without debitAmount / when parsed / then the path of the missing field is named
    from payments import Quote

    with pytest.raises(ResponseValidationError) as caught:
        Quote.from_json(
            {
                "id": "https://rs.example/quotes/1",
                "walletAddress": "https://w.example/alice",
                "receiver": "https://rs.example/incoming-payments/1",
                "method": "ilp",
                "createdAt": "2026-09-01T12:00:00.000Z",
            }
        )
    assert str(caught.value) == "quote.debitAmount: expected a JSON object"


def test_limits_and_access_wire_form() -> None:
    # given outgoing-payment access with limits / when written / then it is the spec's shape
    item = AccessItem.outgoing_payment(
        "https://w.example/alice",
        Limits(debit_amount=Amount(1020, "EUR", 2), receiver="https://rs.example/ip/1"),
    )
    assert item.to_json() == {
        "type": "outgoing-payment",
        "actions": ["create", "read"],
        "identifier": "https://w.example/alice",
        "limits": {
            "receiver": "https://rs.example/ip/1",
            "debitAmount": {"value": "1020", "assetCode": "EUR", "assetScale": 2},
        },
    }
    with pytest.raises(ValueError, match="not both"):
        Limits(debit_amount=Amount(1, "EUR", 2), receive_amount=Amount(1, "EUR", 2))
    assert (
        to_utc_string(datetime.datetime(2026, 9, 30, 12, tzinfo=datetime.UTC)) == "2026-09-30T12:00:00.000Z"
    )
