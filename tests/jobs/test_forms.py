"""Forms: amounts parsed with integer math, roles required, wallet refusals on the field."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from jobs.forms import JobForm, ProfileForm, QuoteForm, SignUpForm
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
        ("10,000,000.00", 2, 1_000_000_000),
        ("1,000.00", 2, 100_000),
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
        ("1.5", 0, "Enter a whole number: no decimals for USD."),
        ("0", 2, "Enter an amount greater than zero."),
        ("0.00", 2, "Enter an amount greater than zero."),
        ("-1", 2, "Enter an amount greater than zero."),
        ("12,50", 2, "Enter an amount like 1,250.50."),
        ("1e3", 2, "Enter an amount like 1,250.50."),
        ("NaN", 2, "Enter an amount like 1,250.50."),
        (
            "10,000,000.01",
            2,
            "Enter at most $10,000,000.00: larger amounts are not paid through the marketplace.",
        ),
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


SIGN_UP = {
    "email": "alice@example.org",
    "username": "alice",
    "password1": f.PASSWORD,
    "password2": f.PASSWORD,
}


@pytest.mark.django_db
def test_sign_up_needs_a_role_and_says_so_on_the_roles():
    # when
    form = SignUpForm(SIGN_UP)
    # then
    assert not form.is_valid()
    assert form.errors == {"roles": ["Choose at least one role: funder, provider, or both."]}


@pytest.mark.django_db
def test_sign_up_gives_the_roles_chosen():
    # when
    form = SignUpForm({**SIGN_UP, "roles": ["funder", "provider"]})
    # then
    assert form.is_valid(), form.errors
    assert form.cleaned_data["roles"] == ["funder", "provider"]
    assert form.cleaned_data["email"] == "alice@example.org"


@pytest.mark.django_db
def test_sign_up_needs_an_email_address_no_account_uses():
    # given
    User.objects.create_user("bob", "bob@example.org", f.PASSWORD)
    # when
    missing = SignUpForm({**SIGN_UP, "email": "", "roles": ["funder"]})
    taken = SignUpForm({**SIGN_UP, "email": "Bob@Example.org", "roles": ["funder"]})
    # then
    assert missing.errors == {"email": ["This field is required."]}
    assert taken.errors == {"email": ["An account already uses this email. Log in or reset your password."]}


def test_sign_up_asks_for_the_email_and_the_roles_first():
    # when
    form = SignUpForm()
    # then
    assert list(form.fields) == ["email", "roles", "username", "password1", "password2"]
    assert form["email"].field.widget.attrs == {
        "autocomplete": "email",
        "autofocus": True,
        "maxlength": "320",
    }
    assert "autofocus" not in form["username"].field.widget.attrs
    assert form["roles"].use_fieldset


@pytest.mark.django_db
def test_the_profile_form_refuses_an_email_another_account_uses_but_keeps_ones_own():
    # given
    bob = User.objects.create_user("bob", "bob@example.org", f.PASSWORD)
    alice = User.objects.create_user("alice", "alice@example.org", f.PASSWORD)
    data = {"is_funder": "on", "wallet_address": ""}
    # when
    taken = ProfileForm({**data, "email": "BOB@example.org"}, profile=Profile(user=alice))
    own = ProfileForm({**data, "email": "Bob@example.org"}, profile=Profile(user=bob))
    # then
    assert taken.errors == {"email": ["Another account already uses this email."]}
    assert own.is_valid(), own.errors


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


@pytest.mark.parametrize(
    ("text", "budget"),
    [("1,000.00", 100_000), ("45", 4500), (" 12.5 ", 1250), ("", None)],
)
def test_a_job_budget_becomes_minor_units_of_the_funders_asset(text, budget):
    # when
    form = JobForm({"title": "Logo", "budget": text}, asset_code="USD", asset_scale=2)
    # then
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"title": "Logo", "description": "", "budget": budget, "deadline": None}


@pytest.mark.parametrize(
    ("text", "error"),
    [("12.505", "Use at most 2 decimal places for USD."), ("0", "Enter an amount greater than zero.")],
)
def test_a_job_budget_that_is_no_payable_amount_is_refused(text, error):
    # when
    form = JobForm({"title": "Logo", "budget": text}, asset_code="USD", asset_scale=2)
    # then
    assert not form.is_valid()
    assert form.errors == {"budget": [error]}


def test_a_job_deadline_is_today_or_later():
    # given
    today = timezone.localdate()
    # when
    past = JobForm({"title": "Logo", "deadline": today - timedelta(days=1)}, asset_code="USD", asset_scale=2)
    present = JobForm({"title": "Logo", "deadline": today}, asset_code="USD", asset_scale=2)
    # then
    assert not past.is_valid()
    assert past.errors == {"deadline": ["Choose a deadline from today on."]}
    assert present.is_valid(), present.errors
    assert present.cleaned_data["deadline"] == today


def test_every_job_field_has_a_label_and_help_for_the_funder():
    # when
    form = JobForm(asset_code="EUR", asset_scale=2)
    # then
    assert [(name, field.label, field.help_text) for name, field in form.fields.items()] == [
        ("title", "Title", "A few words providers see in the job list, such as “Design a logo”."),
        (
            "description",
            "Description (optional)",
            "What to do and what you expect back: providers read it before they quote.",
        ),
        ("budget", "Budget in EUR (optional)", "Providers see it as a guide; they quote their own price."),
        ("deadline", "Deadline (optional)", "The day you need the work by. Providers see it beside the job."),
    ]
    assert form.fields["budget"].widget.attrs == {
        "maxlength": "40",
        "inputmode": "decimal",
        "placeholder": "100.00",
    }
    deadline = form.fields["deadline"].widget
    assert (deadline.input_type, deadline.attrs) == ("date", {"min": timezone.localdate().isoformat()})


def test_a_funder_without_a_wallet_gets_the_budget_disabled_and_ignored():
    # when
    form = JobForm({"title": "Logo", "budget": "50"}, asset_code="", asset_scale=None)
    # then
    assert form.fields["budget"].disabled
    help_text = form.fields["budget"].help_text
    assert help_text == 'Add your wallet on your <a href="/profile">profile</a> to set a budget.'
    assert form.is_valid(), form.errors
    assert form.cleaned_data["budget"] is None
