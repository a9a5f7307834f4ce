"""`manage.py demo_data` against a local wallet: the demo's people and their wallets (a provider paid in
EUR among them), a staff member for the dashboard, the jobs and quotes, the wallet's exchange rate; and
running it again, on its own data or on a database from before, adds only what is missing."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from jobs.models import Job, Profile, Quote
from marketplace.demo import DEMO_PASSWORD
from testwallet.testing import RunningWallet, running_wallet

pytestmark = pytest.mark.django_db

PAULAS_JOB = "Translate the landing page into German"


@pytest.fixture
def wallet() -> Iterator[RunningWallet]:
    """A local wallet with nothing in it, started without exchange rates."""
    with running_wallet(in_thread=True) as running:
        yield running


def demo_data(wallet: RunningWallet, tmp_path: Path) -> str:
    """Runs the command against `wallet`; what it printed."""
    out = StringIO()
    call_command(
        "demo_data",
        wallet=wallet.base_url,
        key_file=str(tmp_path / "marketplace-private.pem"),
        env_file=str(tmp_path / "demo.env"),
        stdout=out,
    )
    return out.getvalue()


def jobs() -> list[tuple[int, int, str, str, int, str, int]]:
    """Every job with its quotes, oldest first: job id, quote id, title, provider, amount, asset code and
    scale."""
    return list(
        Quote.objects.order_by("job_id", "pk").values_list(
            "job_id", "pk", "job__title", "provider__username", "amount_value", "asset_code", "asset_scale"
        )
    )


def quoted() -> list[tuple[str, str, int, str, int]]:
    """What `jobs` lists, without the ids."""
    return [row[2:] for row in jobs()]


def test_it_creates_the_people_their_wallets_and_the_jobs_with_one_quoted_in_eur(
    wallet: RunningWallet, tmp_path: Path
) -> None:
    # given an empty database and an empty local wallet

    # when the demo data is created
    printed = demo_data(wallet, tmp_path)

    # then it says how to log in
    assert (
        printed
        == f"demo data ready; log in as funder, provider, paula or staff with password {DEMO_PASSWORD}\n"
    )

    # and everyone logs in with the demo password
    people = ["funder", "paula", "provider", "staff"]
    assert list(User.objects.order_by("username").values_list("username", flat=True)) == people
    assert [authenticate(username=name, password=DEMO_PASSWORD) is not None for name in people] == [True] * 4

    # and Paula is a provider with a wallet in EUR, the others' wallets hold USD
    profiles = Profile.objects.order_by("user__username").values_list(
        "user__username", "is_funder", "is_provider", "wallet_id", "asset_code", "asset_scale"
    )
    assert list(profiles) == [
        ("funder", True, False, wallet.wallet_url("fiona"), "USD", 2),
        ("paula", False, True, wallet.wallet_url("paula"), "EUR", 2),
        ("provider", False, True, wallet.wallet_url("pavel"), "USD", 2),
    ]
    paula = wallet.wallet("paula")
    assert (paula["publicName"], paula["assetCode"], paula["assetScale"], paula["balance"]) == (
        "Paula Provider",
        "EUR",
        2,
        "0",
    )

    # and the funder has four jobs, Paula's quoted at 40.00 EUR
    assert quoted() == [
        ("Translate the README into Portuguese", "provider", 4500, "USD", 2),
        ("Design a logo for the marketplace", "provider", 12000, "USD", 2),
        ("Fix the flaky CSV export", "provider", 2750, "USD", 2),
        (PAULAS_JOB, "paula", 4000, "EUR", 2),
    ]
    assert set(Job.objects.values_list("funder__username", flat=True)) == {"funder"}

    # and the wallet converts USD to EUR at 0.92
    assert wallet.settings()["rates"] == {"USD:EUR": "23/25"}


def test_the_staff_member_reads_the_dashboard_and_may_change_nothing(
    wallet: RunningWallet, tmp_path: Path
) -> None:
    # given the demo data
    demo_data(wallet, tmp_path)
    staff = User.objects.get(username="staff")

    # when the staff member logs in and opens the dashboard
    browser = Client()
    assert browser.login(username="staff", password=DEMO_PASSWORD)
    dashboard = browser.get(reverse("dashboard"))

    # then it is there for them; they are staff who may read payments, not change them
    assert dashboard.status_code == 200
    assert (staff.is_staff, staff.is_superuser) == (True, False)
    assert staff.has_perm("jobs.view_paymentattempt")
    assert not staff.has_perm("jobs.change_paymentattempt")
    assert not Profile.objects.filter(user=staff).exists()


def test_running_it_again_changes_nothing(wallet: RunningWallet, tmp_path: Path) -> None:
    # given the demo data, and what it made
    demo_data(wallet, tmp_path)
    users = list(User.objects.order_by("pk").values_list("pk", "username", "password", "is_staff"))
    made = jobs()
    key = (tmp_path / "marketplace-private.pem").read_bytes()
    wallets = {name: wallet.wallet(name) for name in ("fiona", "pavel", "paula", "marketplace")}

    # when it runs again
    demo_data(wallet, tmp_path)

    # then every user, job, quote, wallet and the key are the same, and nothing was added
    assert list(User.objects.order_by("pk").values_list("pk", "username", "password", "is_staff")) == users
    assert jobs() == made
    assert (tmp_path / "marketplace-private.pem").read_bytes() == key
    assert {name: wallet.wallet(name) for name in wallets} == wallets
    assert wallet.settings()["rates"] == {"USD:EUR": "23/25"}


def test_a_database_from_before_gets_the_staff_member_paula_and_her_job(
    wallet: RunningWallet, tmp_path: Path
) -> None:
    # given a database of the demo from before there were a staff member, Paula and her job
    demo_data(wallet, tmp_path)
    Job.objects.filter(title=PAULAS_JOB).delete()
    User.objects.filter(username__in=["staff", "paula"]).delete()
    before = jobs()
    assert len(before) == 3

    # when the demo data is created again
    demo_data(wallet, tmp_path)

    # then the three jobs are the same ones, and Paula, her job and the staff member are back
    after = jobs()
    assert after[:3] == before
    assert after[3][2:] == (PAULAS_JOB, "paula", 4000, "EUR", 2)
    assert len(after) == 4
    assert User.objects.get(username="staff").is_staff
    assert Profile.objects.get(user__username="paula").asset_code == "EUR"


def test_a_rate_the_wallet_was_started_with_is_kept(tmp_path: Path) -> None:
    # given a local wallet started with its own EUR:USD rate
    with running_wallet(in_thread=True, rate=["EUR:USD=1.10"]) as wallet:
        # when the demo data is created
        demo_data(wallet, tmp_path)

        # then the wallet's rate is the one it was started with, and no other
        assert wallet.settings()["rates"] == {"EUR:USD": "11/10"}
