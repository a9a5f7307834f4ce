"""Pure functions: intervals, pricing, wire formats, URL building, and the spec validator itself."""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from testwallet.config import Fee, Settings, parse_rate
from testwallet.consent import interval_text
from testwallet.formats import format_money, format_rate, iso, js_order, parse_iso, parse_uint64
from testwallet.grants import with_query
from testwallet.limits import IntervalError, current_window, parse_duration
from testwallet.pricing import PricingError, price_fixed_debit, price_fixed_receive

from .openapi_check import SpecValidator, SpecViolation

DAY_MS = 86_400_000
JAN_1 = parse_iso("2026-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("interval", "now", "window"),
    [
        ("R/2026-01-01T00:00:00Z/P1D", JAN_1 + 5, (JAN_1, JAN_1 + DAY_MS)),
        ("R/2026-01-01T00:00:00Z/P1D", JAN_1 + 3 * DAY_MS + 7, (JAN_1 + 3 * DAY_MS, JAN_1 + 4 * DAY_MS)),
        ("R/2026-01-31T00:00:00Z/P1M", parse_iso("2026-03-01T00:00:00Z"),
         (parse_iso("2026-02-28T00:00:00Z"), parse_iso("2026-03-28T00:00:00Z"))),
        ("R/2030-01-01T00:00:00Z/P1D", JAN_1, None),
        ("R1/2026-01-01T00:00:00Z/PT1H", JAN_1 + 90 * 60_000, (JAN_1 + 3_600_000, JAN_1 + 7_200_000)),
        ("R1/2026-01-01T00:00:00Z/PT1H", JAN_1 + 3 * 3_600_000, None),
    ],
)  # fmt: skip
def test_current_window(interval: str, now: int, window: tuple[int, int] | None) -> None:
    assert current_window(interval, now) == window


@pytest.mark.parametrize(
    "interval",
    [
        "P1D",
        "R/2026-01-01T00:00:00Z",
        "R/not-a-date/P1D",
        "Rx/2026-01-01T00:00:00Z/P1D",
        "R/2026-01-01T00:00:00Z/P",
    ],
)
def test_malformed_intervals_are_refused(interval: str) -> None:
    with pytest.raises(IntervalError):
        current_window(interval, JAN_1)


def test_duration_parts() -> None:
    duration = parse_duration("P1Y2M1W3DT4H5M6S")
    assert (duration.months, duration.seconds) == (14, 10 * 86_400 + 4 * 3600 + 5 * 60 + 6)


def test_rafikis_fee_examples() -> None:
    # given 50 + 1 % (docs/protocol-notes.md §8)
    settings = Settings(fees={"*": Fee(50, 100)})
    usd = ("USD", 2)

    # then fixed receive 1000 costs 1060 and fixed debit 1000 delivers 940
    assert price_fixed_receive(settings, 1000, debit_asset=usd, receive_asset=usd).debit == 1060
    assert price_fixed_debit(settings, 1000, debit_asset=usd, receive_asset=usd).receive == 940


@given(
    value=st.integers(min_value=1, max_value=10**12),
    fixed=st.integers(min_value=0, max_value=1000),
    points=st.integers(min_value=0, max_value=2000),
    rate=st.fractions(min_value=Fraction(1, 100), max_value=100, max_denominator=1000),
    scales=st.tuples(st.integers(0, 6), st.integers(0, 6)),
)
def test_pricing_never_delivers_more_than_paid_for(
    value: int, fixed: int, points: int, rate: Fraction, scales: tuple[int, int]
) -> None:
    # given any fee, rate and scales
    settings = Settings(fees={"*": Fee(fixed, points)}, rates={("AAA", "BBB"): rate})
    source, target = ("AAA", scales[0]), ("BBB", scales[1])
    factor = rate * Fraction(10) ** (scales[1] - scales[0])

    # then a fixed receive is fully paid for, and a fixed debit delivers at most what it pays for
    fixed_receive = price_fixed_receive(settings, value, debit_asset=source, receive_asset=target)
    assert (fixed_receive.debit - fixed_receive.fee) * factor >= value
    assert fixed_receive.fee == Fee(fixed, points).of(fixed_receive.debit - fixed_receive.fee)
    try:
        fixed_debit = price_fixed_debit(settings, value, debit_asset=source, receive_asset=target)
    except PricingError:
        assert (value - Fee(fixed, points).of(value)) * factor < 1
    else:
        assert fixed_debit.receive <= (value - fixed_debit.fee) * factor < fixed_debit.receive + 1
        assert isinstance(fixed_debit.receive, int) and fixed_debit.receive > 0


def test_parse_rate() -> None:
    assert parse_rate("usd:eur=0.9") == (("USD", "EUR"), Fraction(9, 10))


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "1970-01-01T00:00:00.000Z"), (1795670800350, "2026-11-26T05:26:40.350Z")],
)
def test_iso_round_trip(ms: int, text: str) -> None:
    assert iso(ms) == text
    assert parse_iso(text) == ms


def test_parse_iso_needs_a_zone_and_a_time() -> None:
    for text in ("2026-01-01", "2026-01-01T00:00:00"):
        with pytest.raises(ValueError):
            parse_iso(text)
    assert parse_iso("2026-01-01T01:00:00+01:00") == JAN_1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0),
        ("18446744073709551615", 2**64 - 1),
        ("18446744073709551616", None),
        ("-1", None),
        ("1.0", None),
        (5, None),
    ],
)
def test_parse_uint64(value: object, expected: int | None) -> None:
    assert parse_uint64(value) == expected


@pytest.mark.parametrize(
    ("value", "code", "scale", "text"),
    [
        (1050, "USD", 2, "$10.50"),
        (5, "USD", 2, "$0.05"),
        (7, "USD", 0, "$7"),
        (1, "USD", 3, "$0.001"),
        (120000, "USD", 2, "$1,200.00"),
        (4000, "EUR", 2, "€40.00"),
        (9000, "EUR", 3, "€9.000"),
        (500000, "JPY", 0, "¥500,000"),
        (4500, "XYZ", 2, "45.00 XYZ"),
        (123456789, "XYZ", 0, "123,456,789 XYZ"),
        (2**64 - 1, "USD", 2, "$184,467,440,737,095,516.15"),
    ],
)
def test_format_money(value: int, code: str, scale: int, text: str) -> None:
    # exactly the asset scale's digits, thousands separators, the symbol when there is one
    assert format_money(value, code, scale) == text


@pytest.mark.parametrize(
    ("source", "target", "rate", "text"),
    [
        ("USD", "EUR", Fraction("0.92"), "1 USD = 0.92 EUR"),
        ("EUR", "USD", 1 / Fraction("0.92"), "1 EUR = 1.08696 USD"),
        ("USD", "JPY", Fraction(150), "1 USD = 150 JPY"),
        ("USD", "XYZ", Fraction(1234567), "1 USD = 1,234,570 XYZ"),
        ("XYZ", "USD", Fraction(1, 10**9), "1 XYZ = 0.000000001 USD"),
    ],
)
def test_format_rate(source: str, target: str, rate: Fraction, text: str) -> None:
    assert format_rate(source, target, rate) == text


@pytest.mark.parametrize(
    ("interval", "text"),
    [
        ("R/2026-12-01T00:00:00Z/P1M", "every month"),
        ("R/2026-12-01T00:00:00Z/P1W", "every week"),
        ("R/2026-12-01T00:00:00Z/P1D", "every day"),
        ("R/2026-12-01T00:00:00Z/P1Y", "every year"),
        ("R/2026-12-01T00:00:00Z/P2M", "R/2026-12-01T00:00:00Z/P2M"),
        ("R3/2026-12-01T00:00:00Z/P1M", "R3/2026-12-01T00:00:00Z/P1M"),
        ("P1M", "P1M"),
    ],
)
def test_interval_text(interval: str, text: str) -> None:
    assert interval_text(interval) == text


def test_js_order_puts_array_index_keys_first() -> None:
    assert list(js_order({"b": 1, "10": 2, "2": 3, "01": 4, "a": {"9": 0, "x": 1}})) == [
        "2",
        "10",
        "b",
        "01",
        "a",
    ]


def test_with_query_keeps_the_clients_query_and_encodes_like_urlsearchparams() -> None:
    assert (
        with_query("http://a.test/cb?job=42&x=a%20b#frag", {"hash": "a+/b=", "interact_ref": "r~1"})
        == "http://a.test/cb?job=42&x=a+b&hash=a%2B%2Fb%3D&interact_ref=r%7E1#frag"
    )


@cache
def _validator() -> SpecValidator:
    return SpecValidator("http://w.test", "t")


def test_spec_validator_rejects_what_the_spec_forbids() -> None:
    # given the validator for a wallet at http://w.test
    validator = _validator()
    request = httpx.Request("GET", "http://w.test/op/t/outgoing-payment-grant")

    # when a response has an amount as a number, and when an undeclared status has a non-error body
    numeric = {"value": 1, "assetCode": "USD", "assetScale": 2}
    bad_amount = httpx.Response(
        200, json={"spentDebitAmount": numeric, "spentReceiveAmount": None}, request=request
    )
    bad_error = httpx.Response(418, json={"oops": True}, request=request)

    # then both are violations, and a correct answer is not
    for response in (bad_amount, bad_error):
        with pytest.raises(SpecViolation):
            validator.validate(response)
    validator.validate(
        httpx.Response(200, json={"spentDebitAmount": None, "spentReceiveAmount": None}, request=request)
    )


@pytest.mark.parametrize(
    ("url", "operation"),
    [
        ("http://w.test/auth/t", ("auth-server", "/")),
        ("http://w.test/auth/continue/1", ("auth-server", "/continue/1")),
        ("http://w.test/op/t/quotes/1", ("resource-server", "/quotes/1")),
        ("http://w.test/alice", ("wallet-address-server", "/")),
        ("http://w.test/alice/jwks.json", ("wallet-address-server", "/jwks.json")),
        ("http://w.test/auth/interact/1/2", None),
        ("http://w.test/_admin/state", None),
    ],
)
def test_spec_validator_maps_our_urls(url: str, operation: tuple[str, str] | None) -> None:
    assert _validator().operation("GET", url) == operation
