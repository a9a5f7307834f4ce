"""Wallet addresses typed into a profile, resolved against the real local wallet through the SSRF guard."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import User
from django.test import Client

from jobs.models import Profile
from tests.worker.conftest import Stack, stack

pytestmark = [pytest.mark.slow]
__all__ = ["stack"]  # the local wallet fixture of the pipeline tests


def save_wallet(address: str) -> tuple[int, str, Profile]:
    """Posts the profile form with `address` as a fresh provider; the status, the page and the profile."""
    user = User.objects.create_user(username="pavel", password="a-long-test-password-42")
    Profile.objects.create(user=user)
    browser = Client()
    browser.force_login(user)
    response = browser.post("/profile", {"is_provider": "on", "wallet_address": address})
    return response.status_code, html.unescape(response.content.decode()), Profile.objects.get(user=user)


def test_a_wallet_address_that_resolves_is_stored_with_its_asset(stack: Stack) -> None:
    # given / when
    status, _, profile = save_wallet(stack.wallet.wallet_url("pavel"))

    # then
    assert status == 302
    assert (profile.wallet_id, profile.asset_code, profile.asset_scale) == (
        stack.wallet.wallet_url("pavel"),
        "USD",
        2,
    )


@pytest.mark.parametrize(
    ("_case", "address", "reason"),
    [
        ("unknown wallet (404)", "{base}/nobody", "No wallet was found at {base}/nobody."),
        (
            "private IP over http",
            "http://10.0.0.1/alice",
            "http://10.0.0.1/alice cannot be used as a wallet address: refused http://10.0.0.1/alice: plain "
            "http is only allowed for configured hosts",
        ),
        (
            "private IP over https",
            "https://192.168.1.20/alice",
            "https://192.168.1.20/alice cannot be used as a wallet address: refused host '192.168.1.20': it "
            "resolves to a private address 192.168.1.20",
        ),
        (
            "cloud metadata over http",
            "http://169.254.169.254/latest/meta-data",
            "http://169.254.169.254/latest/meta-data cannot be used as a wallet address: refused "
            "http://169.254.169.254/latest/meta-data: plain http is only allowed for configured hosts",
        ),
        (
            "cloud metadata over https",
            "https://169.254.169.254/latest/meta-data",
            "https://169.254.169.254/latest/meta-data cannot be used as a wallet address: refused host "
            "'169.254.169.254': it resolves to a cloud metadata address 169.254.169.254",
        ),
    ],
)
def test_a_wallet_address_that_cannot_be_used_is_refused_on_the_form_and_nothing_is_saved(
    stack: Stack, _case: str, address: str, reason: str
) -> None:
    # given an address the marketplace must refuse
    base = stack.wallet.base_url

    # when it is saved on the profile form
    status, page, profile = save_wallet(address.format(base=base))

    # then the form shows why, and nothing was stored
    assert status == 200
    assert reason.format(base=base) in page
    assert (profile.is_provider, profile.wallet_address, profile.wallet_id, profile.asset_code) == (
        False,
        "",
        "",
        "",
    )
