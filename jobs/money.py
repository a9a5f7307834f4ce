"""Amounts in minor units with an asset code and scale, as Open Payments sends them: integer math only."""

from __future__ import annotations

import re
from dataclasses import dataclass

# What a bigint column (and a signed 64-bit integer) holds; Open Payments allows up to 2**64-1.
MAX_MINOR_UNITS = 2**63 - 1
_DECIMAL = re.compile(r"(?P<whole>\d{1,30})(?:\.(?P<fraction>\d{0,30}))?")


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


def format_amount(value: int, asset_code: str, asset_scale: int) -> str:
    """12345 at scale 2 in USD → "123.45 USD": every digit shown, nothing rounded."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**asset_scale)
    number = f"{whole}.{fraction:0{asset_scale}d}" if asset_scale else str(whole)
    return f"{sign}{number} {asset_code}".strip()


class AmountInvalid(ValueError):
    """Text that is not a positive amount with at most `asset_scale` decimals; says why in plain words."""


def parse_amount(text: str, asset_scale: int, asset_code: str = "") -> int:
    """ "12.50" at scale 2 → 1250 minor units. Extra decimals must be zeros: nothing is ever rounded."""
    match = _DECIMAL.fullmatch(text.strip())
    if match is None:
        raise AmountInvalid("Enter an amount like 12.50, using a dot for decimals.")
    fraction = match["fraction"] or ""
    kept, extra = fraction[:asset_scale], fraction[asset_scale:]
    if extra.strip("0"):
        unit = f" for {asset_code}" if asset_code else ""
        raise AmountInvalid(f"Use at most {asset_scale} decimal places{unit}.")
    value: int = int(match["whole"]) * 10**asset_scale + int(kept.ljust(asset_scale, "0") or "0")
    if value <= 0:
        raise AmountInvalid("Enter an amount greater than zero.")
    if value > MAX_MINOR_UNITS:
        raise AmountInvalid("That amount is too large.")
    return value
