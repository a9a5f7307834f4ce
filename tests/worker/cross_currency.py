"""A funder paying from a USD wallet for a quote in EUR, on the local wallet: the rate and sending fee it
runs with, a provider with a EUR wallet, and what a fixed receive costs, worked out here apart from the
wallet's own arithmetic (`testwallet.pricing`)."""

from __future__ import annotations

from fractions import Fraction
from math import ceil
from typing import Any

from django.contrib.auth.models import User

from jobs.models import Job, Profile, Quote
from tests.worker.conftest import Stack, person

RATE = "0.92"  # one USD buys 0.92 EUR
FEE_FIXED = 30  # US cents the funder's wallet charges per payment…
FEE_BASIS_POINTS = 100  # …plus 1% of what it sends, rounded up
PRICE = 4000  # the provider's quote: 40.00 EUR

# The local wallet's options (`pytest.mark.wallet(**WALLET)`): auto-consent, the rate and the fee.
WALLET: dict[str, Any] = {
    "auto_consent": "accept",
    "wait": 1,
    "settle_delay": 0.05,
    "rate": [f"USD:EUR={RATE}"],
    "fee_fixed": FEE_FIXED,
    "fee_basis_points": FEE_BASIS_POINTS,
}


def debit_for(receive: int, rate: str) -> int:
    """US cents that deliver exactly `receive` euro cents at `rate` (both at scale 2), fee included: the
    fee is charged on what is sent before it."""
    sent = ceil(Fraction(receive) / Fraction(rate))
    return sent + FEE_FIXED + ceil(Fraction(sent * FEE_BASIS_POINTS, 10_000))


def eur_provider(stack: Stack, username: str = "paula") -> User:
    """A provider whose wallet on the local wallet holds EUR at scale 2, with nothing in it."""
    wallet = stack.wallet.create_wallet(username, asset_code="EUR", asset_scale=2, public_name="Paula")
    user = User.objects.create_user(username=username, password="a-long-test-password-42")
    Profile.objects.create(
        user=user,
        is_provider=True,
        wallet_address=wallet["id"],
        wallet_id=wallet["id"],
        asset_code="EUR",
        asset_scale=2,
    )
    return user


def eur_job_with_quote(stack: Stack) -> tuple[Job, Quote]:
    """A job by the USD funder `fiona` with a 40.00 EUR quote by the EUR provider `paula`."""
    funder = person("fiona", stack.wallet.wallet_url("fiona"), funder=True)
    job = Job.objects.create(funder=funder, title="Translate the landing page", description="Into German.")
    quote = Quote.objects.create(
        job=job, provider=eur_provider(stack), amount_value=PRICE, asset_code="EUR", asset_scale=2
    )
    return job, quote
