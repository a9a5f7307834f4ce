"""Template helpers: amounts in minor units shown with their asset scale."""

from __future__ import annotations

from django import template

from jobs.money import format_amount

register = template.Library()


@register.simple_tag
def amount(value: int, asset_code: str, asset_scale: int) -> str:
    """{% amount quote.amount_value quote.asset_code quote.asset_scale %} → "12.50 USD"."""
    return format_amount(value, asset_code, asset_scale)
