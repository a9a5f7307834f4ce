"""Template helpers: amounts in minor units shown with their asset scale, and people's names."""

from __future__ import annotations

from django import template
from django.contrib.auth.base_user import AbstractBaseUser

from jobs.money import format_amount
from jobs.presenters import display_name

register = template.Library()


@register.simple_tag
def amount(value: int, asset_code: str, asset_scale: int) -> str:
    """{% amount quote.amount_value quote.asset_code quote.asset_scale %} → "$12.50"."""
    return format_amount(value, asset_code, asset_scale)


@register.filter(name="display_name")
def display_name_filter(user: AbstractBaseUser) -> str:
    """{{ quote.provider|display_name }} → "Pavel Provider" (their full name, else their username)."""
    return display_name(user)
