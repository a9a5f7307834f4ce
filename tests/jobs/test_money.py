"""Amounts as people read and type them: currency symbols, separators, every digit, sane bounds."""

from __future__ import annotations

import pytest
from django.utils import translation

from jobs.money import MAX_WHOLE_UNITS, AmountInvalid, Money, format_amount, parse_amount, plain_decimal

TOO_LARGE = "Enter at most {}: larger amounts are not paid through the marketplace."


@pytest.mark.parametrize(
    ("value", "code", "scale", "shown"),
    [
        (4500, "USD", 2, "$45.00"),
        (100_000, "USD", 2, "$1,000.00"),
        (123_456_789, "USD", 2, "$1,234,567.89"),
        (4000, "EUR", 2, "€40.00"),
        (1, "GBP", 2, "£0.01"),
        (0, "USD", 2, "$0.00"),
        (-1500, "USD", 2, "-$15.00"),
        # three decimals: the asset's scale, not the currency's usual two digits
        (12_345, "USD", 3, "$12.345"),
        (1_000_001, "KWD", 3, "1,000.001 KWD"),
        # no decimals
        (5000, "JPY", 0, "¥5,000"),
        (7, "USD", 0, "$7"),
        # an asset with no symbol keeps its code, after the number
        (4500, "XYZ", 2, "45.00 XYZ"),
        (2**63 - 1, "USD", 2, "$92,233,720,368,547,758.07"),
    ],
)
def test_amounts_are_shown_with_symbol_separators_and_every_digit(value, code, scale, shown):
    # when / then
    assert format_amount(value, code, scale) == shown
    assert str(Money(value, code, scale)) == shown


def test_amounts_follow_the_active_locale():
    # given a German page
    with translation.override("de"):
        # when / then: the locale's own marks and symbol position
        assert format_amount(123_450, "EUR", 2) == "1.234,50\xa0€"
        assert parse_amount("1.234,50", 2, "EUR") == 123_450


def test_the_plain_decimal_has_no_symbol_and_no_grouping():
    # when / then
    assert (plain_decimal(123_456, 2), plain_decimal(7, 0), plain_decimal(-5, 3)) == (
        "1234.56",
        "7",
        "-0.005",
    )


@pytest.mark.parametrize(
    ("text", "scale", "minor_units"),
    [
        ("1,000.00", 2, 100_000),
        ("1000", 2, 100_000),
        ("1 000.50", 2, 100_050),
        ("$45", 2, 4500),
        ("45.00 USD", 2, 4500),
        ("usd 45", 2, 4500),
        (".5", 2, 50),
        ("12.", 2, 1200),
        ("12.500", 2, 1250),
        # three decimals
        ("1.234", 3, 1234),
        ("1,000.001", 3, 1_000_001),
        # no decimals
        ("5,000", 0, 5000),
        ("12.0", 0, 12),
        # the largest amount anyone may type
        ("10,000,000", 2, MAX_WHOLE_UNITS * 100),
    ],
)
def test_amounts_are_read_as_people_type_them(text, scale, minor_units):
    # when / then
    assert parse_amount(text, scale, "USD") == minor_units


@pytest.mark.parametrize(
    ("text", "scale", "error"),
    [
        ("0", 2, "Enter an amount greater than zero."),
        ("0.00", 2, "Enter an amount greater than zero."),
        ("-1", 2, "Enter an amount greater than zero."),
        ("\u22121", 2, "Enter an amount greater than zero."),
        ("", 2, "Enter an amount like 1,250.50."),
        ("abc", 2, "Enter an amount like 1,250.50."),
        ("1,00", 2, "Enter an amount like 1,250.50."),
        ("1.2.3", 2, "Enter an amount like 1,250.50."),
        ("1e3", 2, "Enter an amount like 1,250.50."),
        ("€45", 2, "Enter an amount like 1,250.50."),
        ("12.505", 2, "Use at most 2 decimal places for USD."),
        ("1.2345", 3, "Use at most 3 decimal places for USD."),
        ("12.5", 0, "Enter a whole number: no decimals for USD."),
        ("abc", 0, "Enter an amount like 1,250."),
        ("10,000,000.01", 2, TOO_LARGE.format("$10,000,000.00")),
        ("99,999,999,999.00", 2, TOO_LARGE.format("$10,000,000.00")),
        ("9" * 30, 0, TOO_LARGE.format("$10,000,000")),
        ("1" * 31, 2, "Enter an amount like 1,250.50."),
    ],
)
def test_amounts_nobody_can_pay_are_refused_with_what_to_type(text, scale, error):
    # when
    with pytest.raises(AmountInvalid) as refused:
        parse_amount(text, scale, "USD")
    # then
    assert str(refused.value) == error
