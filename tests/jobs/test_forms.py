"""Forms: amounts parsed with integer math, roles required, wallet refusals on the field."""

from __future__ import annotations

from unittest.mock import patch

import pytest

from jobs.forms import ProfileForm, QuoteForm, SignUpForm
from jobs.models import Profile
from jobs.wallets import WalletAddressRefused
from payments import WalletAddress
from tests.jobs import factories as f


@pytest.mark.parametrize(
    ("text", "scale", "minor_units"),
    [
        ("12.50", 2, 1250),
        ("12.5", 2, 1250),
        ("12", 2, 1200),
        (" 0.01 ", 2, 1),
        ("12.500", 2, 1250),
        ("7", 0, 7),
        ("0.000000001", 9, 1),
        ("92233720368547758.07", 2, 2**63 - 1),
    ],
)
def test_quote_amounts_become_exact_minor_units(text, scale, minor_units):
    # when
    form = QuoteForm({"amount": text}, asset_code="USD", asset_scale=scale)
    # then
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == minor_units


@pytest.mark.parametrize(
    ("text", "scale", "error"),
    [
        ("12.505", 2, "Use at most 2 decimal places for USD."),
        ("1.5", 0, "Use at most 0 decimal places for USD."),
        ("0", 2, "Enter an amount greater than zero."),
        ("0.00", 2, "Enter an amount greater than zero."),
        ("-1", 2, "Enter an amount like 12.50, using a dot for decimals."),
        ("12,50", 2, "Enter an amount like 12.50, using a dot for decimals."),
        ("1e3", 2, "Enter an amount like 12.50, using a dot for decimals."),
        ("NaN", 2, "Enter an amount like 12.50, using a dot for decimals."),
        ("92233720368547758.08", 2, "That amount is too large."),
    ],
)
def test_quote_amounts_that_cannot_be_paid_exactly_are_refused(text, scale, error):
    # when
    form = QuoteForm({"amount": text}, asset_code="USD", asset_scale=scale)
    # then
    assert not form.is_valid()
    assert form.errors == {"amount": [error]}


def test_the_quote_amount_field_names_the_asset():
    # when
    form = QuoteForm(asset_code="EUR", asset_scale=2)
    # then
    assert form.fields["amount"].label == "Your price in EUR"
    assert form.fields["amount"].widget.attrs["placeholder"] == "12.50"


@pytest.mark.django_db
def test_sign_up_needs_a_role():
    # when
    form = SignUpForm({"username": "alice", "password1": f.PASSWORD, "password2": f.PASSWORD})
    # then
    assert not form.is_valid()
    assert form.errors == {"__all__": ["Choose at least one role: funder, provider, or both."]}


@pytest.mark.django_db
def test_the_profile_form_puts_the_wallet_refusal_on_the_field():
    # given
    profile = Profile(wallet_address="")
    reason = "10.0.0.7 is a private network address and cannot be a wallet."
    # when
    with patch("jobs.wallets.wallet_address_resolve", side_effect=WalletAddressRefused(reason)):
        form = ProfileForm({"is_funder": "on", "wallet_address": "https://10.0.0.7/alice"}, profile=profile)
        valid = form.is_valid()
    # then
    assert not valid
    assert form.errors == {"wallet_address": [reason]}


@pytest.mark.django_db
def test_the_profile_form_refuses_text_that_is_no_wallet_address_without_asking_the_wallet():
    # when
    with patch("jobs.wallets.wallet_address_resolve") as resolve:
        form = ProfileForm({"wallet_address": "alice@example.com"}, profile=Profile())
        valid = form.is_valid()
    # then
    assert not valid
    assert form.errors == {
        "wallet_address": ["Enter your wallet address as a URL (https://…) or a payment pointer ($…)."]
    }
    resolve.assert_not_called()


@pytest.mark.django_db
def test_the_profile_form_gives_the_resolved_wallet_to_profile_update():
    # given
    wallet = WalletAddress(
        id="https://wallet.example/alice",
        asset_code="MXN",
        asset_scale=6,
        auth_server="https://wallet.example/auth",
        resource_server="https://wallet.example/op",
    )
    # when
    with patch("jobs.wallets.wallet_address_resolve", return_value=wallet):
        form = ProfileForm(
            {"is_provider": "on", "wallet_address": "$wallet.example/alice"}, profile=Profile()
        )
        assert form.is_valid()
    # then
    assert form.profile_fields() == {
        "is_funder": False,
        "is_provider": True,
        "wallet_address": "$wallet.example/alice",
        "wallet_id": "https://wallet.example/alice",
        "asset_code": "MXN",
        "asset_scale": 6,
    }
