"""Quote arithmetic: sending fee and exchange rate, in exact integers (``docs/protocol-notes.md`` §8).

With fixed 50 and 100 basis points: a fixed receive of 1000 costs 1000 + 50 + 10 = 1060; a fixed debit
of 1000 delivers 1000 - 50 - 10 = 940. The fee is charged on the send-side amount before the fee.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor

from .config import Settings


class PricingError(Exception):
    """No rate for the pair, or an amount that would deliver nothing."""


@dataclass(frozen=True, slots=True)
class Price:
    debit: int  # what the sender pays, fee included (sender's asset)
    receive: int  # what the receiver gets (receiver's asset)
    fee: int  # sender's asset; debit - fee is what ends up as sentAmount


def _factor(settings: Settings, debit_asset: tuple[str, int], receive_asset: tuple[str, int]) -> Fraction:
    """Receiver minor units bought by one sender minor unit."""
    rate = settings.rate(debit_asset[0], receive_asset[0])
    if rate is None:
        raise PricingError(f"no exchange rate from {debit_asset[0]} to {receive_asset[0]}")
    return rate * Fraction(10) ** (receive_asset[1] - debit_asset[1])


def price_fixed_receive(
    settings: Settings, receive: int, *, debit_asset: tuple[str, int], receive_asset: tuple[str, int]
) -> Price:
    """What it costs the sender to deliver exactly ``receive``."""
    factor = _factor(settings, debit_asset, receive_asset)
    principal = ceil(receive / factor)
    fee = settings.fee_for(debit_asset[0]).of(principal)
    return Price(debit=principal + fee, receive=receive, fee=fee)


def price_fixed_debit(
    settings: Settings, debit: int, *, debit_asset: tuple[str, int], receive_asset: tuple[str, int]
) -> Price:
    """What ``debit`` (fee included) delivers; PricingError when nothing is left after the fee."""
    factor = _factor(settings, debit_asset, receive_asset)
    fee = settings.fee_for(debit_asset[0]).of(debit)
    receive = floor((debit - fee) * factor)
    if receive <= 0:
        raise PricingError("non-positive receive amount")
    return Price(debit=debit, receive=receive, fee=fee)
