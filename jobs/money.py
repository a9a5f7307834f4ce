"""Amounts in minor units with an asset code and scale, as Open Payments sends them: integer math only.

People read them in their locale (the site's language, `LANGUAGE_CODE`): "$1,200.00", "€40.00", "¥5,000";
they type them as they would write them ("1,000.00", "1000", "$45", "45 USD"); both ways every digit is
kept and nothing is ever rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, format_decimal, get_currency_name, get_currency_symbol
from django.conf import settings
from django.utils import translation

# What a bigint column (and a signed 64-bit integer) holds; Open Payments allows up to 2**64-1.
MAX_MINOR_UNITS = 2**63 - 1
# The largest price, refund or budget anyone may type, in whole units of its asset: far above any job,
# far below what a wallet would refuse only after the funder consented.
MAX_WHOLE_UNITS = 10_000_000
# Spaces people (and locales) put between groups of digits: space, no-break and narrow no-break space.
_SPACES = " \u00a0\u202f"


@dataclass(frozen=True)
class Money:
    """`value` minor units of `asset_code`, with `asset_scale` digits after the decimal point."""

    value: int
    asset_code: str
    asset_scale: int

    @property
    def formatted(self) -> str:
        return format_amount(self.value, self.asset_code, self.asset_scale)

    def as_json(self) -> dict[str, object]:
        """The Open Payments amount object, plus the display text."""
        return {
            "value": str(self.value),
            "assetCode": self.asset_code,
            "assetScale": self.asset_scale,
            "formatted": self.formatted,
        }

    def __str__(self) -> str:
        return self.formatted


def _locale() -> Locale:
    """The locale amounts are shown and read in: the active language, else the site's."""
    return _parse_locale(translation.get_language() or settings.LANGUAGE_CODE)


@lru_cache(maxsize=32)
def _parse_locale(language: str) -> Locale:
    return Locale.parse(translation.to_locale(language))


def _digits(pattern: str, asset_scale: int) -> str:
    """The locale's number pattern with exactly `asset_scale` fraction digits (an asset's scale is not
    the currency's usual digits: a wallet may count USD in thousandths)."""
    fraction = "." + "0" * asset_scale if asset_scale else ""
    return re.sub(r"0(?:\.[0#]+)?", "0" + fraction, pattern, count=1)


def plain_decimal(value: int, asset_scale: int) -> str:
    """12345 at scale 2 → "123.45": no symbol, no grouping (spreadsheets, API examples)."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**asset_scale)
    return f"{sign}{whole}.{fraction:0{asset_scale}d}" if asset_scale else f"{sign}{whole}"


def format_amount(value: int, asset_code: str, asset_scale: int) -> str:
    """12345 at scale 2 in USD → "$123.45" (in the locale's way); an asset with no known symbol keeps its
    code after the number ("123.45 XYZ"); no code → the plain decimal. Every digit shown, nothing rounded."""
    if not asset_code:
        return plain_decimal(value, asset_scale)
    locale = _locale()
    number = Decimal(value).scaleb(-asset_scale)
    if get_currency_symbol(asset_code, locale) == asset_code:
        pattern = _digits(locale.decimal_formats[None].pattern, asset_scale)
        return f"{format_decimal(number, format=pattern, locale=locale)} {asset_code}"
    pattern = _digits(locale.currency_formats["standard"].pattern, asset_scale)
    text: str = format_currency(number, asset_code, format=pattern, locale=locale, currency_digits=False)
    return text


def currency_name(asset_code: str) -> str:
    """ "USD" → "US Dollar (USD)" in the locale; a code with no known name stays alone ("XYZ")."""
    name: str = get_currency_name(asset_code, locale=_locale())
    return asset_code if name == asset_code else f"{name} ({asset_code})"


class AmountInvalid(ValueError):
    """Text that is not an amount anyone may pay in this asset; says why in plain words."""


def parse_amount(text: str, asset_scale: int, asset_code: str = "") -> int:
    """What a person typed ("1,000.50", "1000", "$45", "45 USD") → minor units at `asset_scale`.

    Extra decimals must be zeros (nothing is rounded); zero, negative and absurd amounts are refused
    with what to type instead."""
    locale = _locale()
    symbols = locale.number_symbols.get("latn", {})
    decimal_mark, group_mark = symbols.get("decimal", "."), symbols.get("group", ",")
    number = _without_currency(text, asset_code, locale)
    if number.startswith(("-", "\u2212")):  # a hyphen or a minus sign
        raise AmountInvalid("Enter an amount greater than zero.")
    whole, fraction = _split(number, decimal_mark, group_mark)
    if whole is None:
        raise AmountInvalid(f"Enter an amount like {_example(asset_scale, locale)}.")
    kept, extra = fraction[:asset_scale], fraction[asset_scale:]
    if extra.strip("0"):
        unit = f" for {asset_code}" if asset_code else ""
        if asset_scale == 0:
            raise AmountInvalid(f"Enter a whole number: no decimals{unit}.")
        raise AmountInvalid(f"Use at most {asset_scale} decimal places{unit}.")
    value: int = int(whole) * 10**asset_scale + int(kept.ljust(asset_scale, "0") or "0")
    if value <= 0:
        raise AmountInvalid("Enter an amount greater than zero.")
    largest: int = MAX_WHOLE_UNITS * 10**asset_scale
    if value > largest:
        shown = format_amount(largest, asset_code, asset_scale)
        raise AmountInvalid(f"Enter at most {shown}: larger amounts are not paid through the marketplace.")
    return value


def _without_currency(text: str, asset_code: str, locale: Locale) -> str:
    """The text without its currency symbol or code and outer spaces."""
    number = text.strip(_SPACES + "\t")
    marks = [asset_code, get_currency_symbol(asset_code, locale)] if asset_code else []
    for mark in sorted(filter(None, marks), key=len, reverse=True):
        if number.upper().startswith(mark.upper()):
            number = number[len(mark) :]
        elif number.upper().endswith(mark.upper()):
            number = number[: -len(mark)]
    return number.strip(_SPACES + "\t")


_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")


def _split(number: str, decimal_mark: str, group_mark: str) -> tuple[str | None, str]:
    """The whole and fraction digits of `number`, written with the locale's marks (groups of three, a
    space as a group mark too); (None, "") for anything else."""
    if number.count(decimal_mark) > 1:
        return None, ""
    whole, _, fraction = number.partition(decimal_mark)
    if not re.fullmatch(r"\d{0,30}", fraction) or (not whole and not fraction):
        return None, ""
    plain = whole
    for mark in {group_mark, *_SPACES}:
        plain = plain.replace(mark, ",")
    if "," in plain and not _GROUPED.fullmatch(plain):
        return None, ""
    digits = plain.replace(",", "") or "0"
    if not re.fullmatch(r"\d{1,30}", digits):
        return None, ""
    return digits, fraction


def _example(asset_scale: int, locale: Locale) -> str:
    """How to type 1250.50 (or 1250 for an asset without decimals) in `locale`."""
    pattern = _digits(locale.decimal_formats[None].pattern, asset_scale)
    number = Decimal(125050 if asset_scale else 1250).scaleb(-2 if asset_scale else 0)
    text: str = format_decimal(number, format=pattern, locale=locale)
    return text
