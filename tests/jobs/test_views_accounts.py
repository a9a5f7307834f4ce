"""Sign-up, log-in, log-out and the profile page with its wallet address."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from jobs.models import Profile
from jobs.wallets import WalletAddressRefused
from payments import WalletAddress
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

RESOLVE = "jobs.wallets.wallet_address_resolve"
EUR_WALLET = WalletAddress(
    id="https://wallet.example/alice",
    asset_code="EUR",
    asset_scale=2,
    auth_server="https://auth.wallet.example",
    resource_server="https://wallet.example/op",
    public_name="Alice",
)


def profile_of(user: User) -> tuple[object, ...]:
    p = Profile.objects.get(user=user)
    return (p.is_funder, p.is_provider, p.wallet_address, p.wallet_id, p.asset_code, p.asset_scale)


def test_sign_up_creates_the_user_with_roles_and_logs_them_in():
    # given
    client = Client()
    form = {"username": "alice", "password1": f.PASSWORD, "password2": f.PASSWORD, "is_provider": "on"}
    # when
    response = client.post(reverse("signup"), form)
    # then
    alice = User.objects.get(username="alice")
    assert response.status_code == 302
    assert response["Location"] == "/profile"
    assert profile_of(alice) == (False, True, "", "", "", None)
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_sign_up_without_a_role_is_refused():
    # when
    response = Client().post(
        reverse("signup"), {"username": "alice", "password1": f.PASSWORD, "password2": f.PASSWORD}
    )
    # then
    assert response.status_code == 200
    assert "Choose at least one role: funder, provider, or both." in response.content.decode()
    assert User.objects.count() == 0


def test_sign_up_requires_the_csrf_token():
    # when
    response = Client(enforce_csrf_checks=True).post(
        reverse("signup"),
        {"username": "alice", "password1": f.PASSWORD, "password2": f.PASSWORD, "is_funder": "on"},
    )
    # then
    assert response.status_code == 403
    assert User.objects.count() == 0


def test_log_in_and_log_out():
    # given
    f.funder("fiona")
    client = Client()
    # when
    logged_in = client.post(reverse("login"), {"username": "fiona", "password": f.PASSWORD})
    logged_out = client.post(reverse("logout"))
    # then
    assert (logged_in.status_code, logged_in["Location"]) == (302, "/")
    assert (logged_out.status_code, logged_out["Location"]) == (302, "/")
    assert "_auth_user_id" not in client.session


def test_log_in_page_renders():
    # when
    response = Client().get(reverse("login"))
    # then
    assert response.status_code == 200
    assert '<input type="text" name="username"' in response.content.decode()


def test_saving_a_wallet_stores_what_it_resolved_to():
    # given
    alice = f.user("alice", wallet=False)
    # when
    with patch(RESOLVE, return_value=EUR_WALLET) as resolve:
        response = f.logged_in(alice).post(
            reverse("profile"), {"is_funder": "on", "wallet_address": " $wallet.example/alice "}
        )
    # then
    assert response.status_code == 302
    resolve.assert_called_once_with("$wallet.example/alice")
    assert profile_of(alice) == (
        True,
        False,
        "$wallet.example/alice",
        "https://wallet.example/alice",
        "EUR",
        2,
    )


def test_a_refused_wallet_shows_the_reason_and_saves_nothing():
    # given
    alice = f.user("alice", wallet=False)
    reason = "No wallet was found at https://wallet.example/nobody."
    # when
    with patch(RESOLVE, side_effect=WalletAddressRefused(reason)):
        response = f.logged_in(alice).post(
            reverse("profile"), {"is_funder": "on", "wallet_address": "https://wallet.example/nobody"}
        )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<ul class="errorlist" id="id_wallet_address_error"><li>{reason}</li></ul>' in html
    assert profile_of(alice) == (False, False, "", "", "", None)


def test_saving_roles_keeps_an_unchanged_wallet_without_resolving_it_again():
    # given
    fiona = f.funder("fiona")
    # when
    with patch(RESOLVE) as resolve:
        response = f.logged_in(fiona).post(
            reverse("profile"),
            {"is_funder": "on", "is_provider": "on", "wallet_address": "https://wallet.example/fiona"},
        )
    # then
    assert response.status_code == 302
    resolve.assert_not_called()
    assert profile_of(fiona) == (
        True,
        True,
        "https://wallet.example/fiona",
        "https://wallet.example/fiona",
        "USD",
        2,
    )


def test_clearing_the_wallet_address_removes_the_wallet():
    # given
    fiona = f.funder("fiona")
    # when
    with patch(RESOLVE) as resolve:
        f.logged_in(fiona).post(reverse("profile"), {"is_funder": "on", "wallet_address": ""})
    # then
    resolve.assert_not_called()
    assert profile_of(fiona) == (True, False, "", "", "", None)


def test_the_profile_page_shows_the_resolved_wallet():
    # when
    response = f.logged_in(f.funder("fiona")).get(reverse("profile"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        "Wallet <code>https://wallet.example/fiona</code> · amounts in <strong>USD</strong> (scale 2)" in html
    )


def test_the_profile_needs_a_login():
    # when
    response = Client().get(reverse("profile"))
    # then
    assert (response.status_code, response["Location"]) == (302, "/login?next=/profile")


def test_the_profile_form_requires_the_csrf_token():
    # given
    fiona = f.funder("fiona")
    # when
    with patch(RESOLVE) as resolve:
        response = f.logged_in(fiona, csrf=True).post(reverse("profile"), {"wallet_address": ""})
    # then
    assert response.status_code == 403
    resolve.assert_not_called()
    assert profile_of(fiona)[3] == "https://wallet.example/fiona"
