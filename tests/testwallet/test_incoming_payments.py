"""Incoming payments: creation rules, views, completion, listing and visibility."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from testwallet.formats import iso, parse_iso
from testwallet.testing import RunningWallet

from .conftest import Parties
from .opclient import OPClient, amount


@contextmanager
def unchanged(server: RunningWallet) -> Iterator[None]:
    before = server.state()
    yield
    assert server.state() == before


def rs(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["description"]


def create(parties: Parties, body: dict[str, object], token: str | None = None) -> httpx.Response:
    token = token or parties.op.incoming_grant(parties.bob)
    return parties.op.post(f"{parties.bob['resourceServer']}/incoming-payments", body, token=token)


def test_default_expiry_is_thirty_days_minus_a_millisecond(parties: Parties) -> None:
    # given an incoming payment created without expiresAt
    ip, _ = parties.incoming_payment(1000)

    # then it expires 30 days after creation, less 1 ms, as Rafiki
    assert parse_iso(ip["expiresAt"]) - parse_iso(ip["createdAt"]) == 30 * 86_400_000 - 1


def test_explicit_expiry_and_open_amount_are_kept(parties: Parties) -> None:
    # given an open-ended incoming payment expiring in an hour
    offset_ms = int(parties.server.advance_clock(0) * 1000)
    expires = iso(int((datetime.now(UTC) + timedelta(hours=1)).timestamp() * 1000) + offset_ms)

    # when created
    ip, _ = parties.incoming_payment(None, expiresAt=expires)

    # then there is no incomingAmount and the expiry is the one asked for
    assert "incomingAmount" not in ip
    assert ip["expiresAt"] == expires


@pytest.mark.parametrize(
    ("_case", "extra", "expected"),
    [
        ("wrong asset", {"incomingAmount": amount(100, "EUR", 2)}, (400, "invalid amount")),
        ("wrong scale", {"incomingAmount": amount(100, "USD", 3)}, (400, "invalid amount")),
        ("zero", {"incomingAmount": amount(0)}, (400, "invalid amount")),
        ("not a uint64", {"incomingAmount": amount(2**64)}, (400, "invalid amount")),
        ("expiry in the past", {"expiresAt": "2020-01-01T00:00:00.000Z"}, (400, "invalid expiresAt")),
        ("expiry beyond 30 days", {"expiresAt": "2999-01-01T00:00:00.000Z"}, (400, "invalid expiresAt")),
        (
            "unknown field",
            {"note": "x"},
            (400, "Received error validating OpenAPI request: body must NOT have additional properties"),
        ),
        (
            "amount as a number",
            {"incomingAmount": {"value": 100, "assetCode": "USD", "assetScale": 2}},
            (400, "Received error validating OpenAPI request: body/incomingAmount/value must be string"),
        ),
    ],
)
def test_invalid_incoming_payments_are_refused(
    parties: Parties, _case: str, extra: dict[str, object], expected: tuple[int, str]
) -> None:
    # given a token and a body that breaks one rule
    token = parties.op.incoming_grant(parties.bob)

    # when it is posted / then it is refused and nothing is created
    with unchanged(parties.server):
        response = create(parties, {"walletAddress": parties.bob["id"], **extra}, token)
    assert rs(response) == expected


def test_unknown_wallet_is_not_found(parties: Parties) -> None:
    # given a token and a wallet address this server does not host
    token = parties.op.incoming_grant(parties.bob)
    body = {"walletAddress": f"{parties.server.base_url}/nobody-here"}

    # when posted / then 404 unknown wallet address
    with unchanged(parties.server):
        response = create(parties, body, token)
    assert rs(response) == (404, "unknown wallet address")


def test_metadata_comes_back_in_javascript_key_order(parties: Parties) -> None:
    # given metadata with an integer-like key after a string key, and non-ASCII text
    # when the incoming payment is created
    ip, _ = parties.incoming_payment(100, metadata={"b": "1", "10": "x", "note": "é"})

    # then it is echoed as Rafiki (JSON.parse) orders it
    assert list(ip["metadata"]) == ["10", "b", "note"]
    assert ip["metadata"]["note"] == "é"


def test_complete_closes_the_payment_and_empties_its_methods(parties: Parties) -> None:
    # given an open incoming payment
    ip, token = parties.incoming_payment(1000)

    # when it is completed, then read, then completed again
    completed = parties.op.post(f"{ip['id']}/complete", token=token)
    read = parties.op.get(ip["id"], token=token)
    again = parties.op.post(f"{ip['id']}/complete", token=token)

    # then it is completed without methods in the complete response and with methods [] when read
    assert completed.status_code == 200
    assert completed.json()["completed"] is True
    assert "methods" not in completed.json()
    assert (read.json()["completed"], read.json()["methods"]) == (True, [])
    assert rs(again) == (409, "wrong state")


def test_unknown_id_is_unauthorized_and_another_clients_payment_is_not_found(
    parties: Parties, stranger: OPClient
) -> None:
    # given an incoming payment of our client and a stranger with its own read token
    ip, _ = parties.incoming_payment(1000)
    stranger_token = stranger.incoming_grant(parties.bob, actions=("read",))
    unknown = ip["id"].rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"

    # when the stranger reads ours, and anyone reads an unknown id
    theirs = stranger.get(ip["id"], token=stranger_token)
    missing = stranger.get(unknown, token=stranger_token)

    # then 404 for the other client's payment, and Rafiki's 401 for an id it cannot place
    assert (theirs.status_code, theirs.json()["error"]) == (
        404,
        {
            "code": "404",
            "description": "Incoming payment does not exist",
            "details": {"id": ip["id"].rsplit("/", 1)[1]},
        },
    )
    assert missing.status_code == 401
    assert missing.json()["error"]["details"] == {
        "description": "Failed to get wallet address from incoming payment",
        "id": "00000000-0000-4000-8000-000000000000",
    }


def test_list_pages_newest_first_and_only_shows_the_clients_own(parties: Parties, stranger: OPClient) -> None:
    # given three incoming payments of our client and one of a stranger on bob
    token = parties.op.incoming_grant(parties.bob, actions=("create", "read", "list"))
    ids = [create(parties, {"walletAddress": parties.bob["id"]}, token).json()["id"] for _ in range(3)]
    stranger_token = stranger.incoming_grant(parties.bob, actions=("create",))
    stranger.post(
        f"{parties.bob['resourceServer']}/incoming-payments",
        {"walletAddress": parties.bob["id"]},
        token=stranger_token,
    )
    url = f"{parties.bob['resourceServer']}/incoming-payments"
    params = {"wallet-address": parties.bob["id"]}

    # when listed two at a time, forwards then backwards
    first = parties.op.get(url, token=token, params={**params, "first": 2}).json()
    second = parties.op.get(
        url, token=token, params={**params, "first": 2, "cursor": first["pagination"]["endCursor"]}
    ).json()
    back = parties.op.get(
        url, token=token, params={**params, "last": 2, "cursor": second["pagination"]["startCursor"]}
    ).json()

    # then pages follow Rafiki's cursors (uuids), newest first, without the stranger's payment or methods
    newest_first = ids[::-1]
    uuid = [i.rsplit("/", 1)[1] for i in newest_first]
    assert [p["id"] for p in first["result"]] == newest_first[:2]
    assert first["pagination"] == {
        "endCursor": uuid[1],
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": uuid[0],
    }
    assert [p["id"] for p in second["result"]] == newest_first[2:]
    assert second["pagination"] == {
        "endCursor": uuid[2],
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": uuid[2],
    }
    assert [p["id"] for p in back["result"]] == newest_first[:2]
    assert all("methods" not in p for p in first["result"])


@pytest.mark.parametrize(
    ("_case", "params", "expected"),
    [
        (
            "no wallet-address",
            {},
            (400, "Received error validating OpenAPI request: must have required property 'wallet-address'"),
        ),
        (
            "first and last",
            {"first": 1, "last": 1, "cursor": "x"},
            (400, "first and last cannot both be given"),
        ),
        ("last without cursor", {"last": 1}, (400, "last requires a cursor")),
        (
            "first too large",
            {"first": 101},
            (400, "Received error validating OpenAPI request: querystring/first must be <= 100"),
        ),
    ],
)
def test_invalid_list_queries_are_refused(
    parties: Parties, _case: str, params: dict[str, object], expected: tuple[int, str]
) -> None:
    # given a list token
    token = parties.op.incoming_grant(parties.bob, actions=("list",))
    if params or _case != "no wallet-address":
        params = {"wallet-address": parties.bob["id"], **params}

    # when listing with a bad query / then 400
    response = parties.op.get(
        f"{parties.bob['resourceServer']}/incoming-payments", token=token, params=params
    )
    assert rs(response) == expected


def test_listing_needs_the_list_action(parties: Parties) -> None:
    # given a token with read and create but not list
    token = parties.op.incoming_grant(parties.bob, actions=("read", "create"))

    # when listing / then 403 Insufficient Grant
    response = parties.op.get(
        f"{parties.bob['resourceServer']}/incoming-payments",
        token=token,
        params={"wallet-address": parties.bob["id"]},
    )
    assert rs(response) == (403, "Insufficient Grant")


def test_expired_incoming_payment_offers_no_methods(parties: Parties) -> None:
    # given an incoming payment expiring in one minute of the wallet's clock
    offset_ms = int(parties.server.advance_clock(0) * 1000)
    expires = iso(int((datetime.now(UTC) + timedelta(minutes=1)).timestamp() * 1000) + offset_ms)
    ip, token = parties.incoming_payment(1000, expiresAt=expires)

    # when the minute has passed / then it still reads, with no payment methods
    parties.server.advance_clock(61)
    read = parties.op.get(ip["id"], token=token).json()
    assert (read["completed"], read["methods"]) == (False, [])
