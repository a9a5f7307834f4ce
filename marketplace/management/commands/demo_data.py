"""`manage.py demo_data`: the marketplace's own key, demo wallets on the local wallet, users, jobs, quotes.

Safe to run again: the key is kept, existing wallets, users and jobs are reused, and whatever an older
demo lacks (a person, a job, the wallet's exchange rate) is added. Writes the Open Payments settings the
web and worker processes need to an env file (`var/demo.env` by default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.management.base import BaseCommand, CommandError

from jobs.models import Job, Profile, Quote
from marketplace.demo import DEMO_PASSWORD, KEY_ID, RATES, STAFF_USERNAME
from payments import generate_private_key, load_private_key, private_key_pem, public_jwk

SCALE = 2  # of every demo wallet


@dataclass(frozen=True)
class Person:
    """A demo user and their wallet on the local wallet."""

    wallet: str
    public_name: str
    funds: bool = False
    provides: bool = False
    balance: int = 0  # minor units
    asset_code: str = "USD"  # at SCALE


PEOPLE = {
    "funder": Person("fiona", "Fiona Funder", funds=True, balance=1_000_000),
    "provider": Person("pavel", "Pavel Provider", provides=True),
    "paula": Person("paula", "Paula Provider", provides=True, asset_code="EUR"),
}
JOBS = [
    # title, description, who quotes, price in minor units of their wallet's asset
    ("Translate the README into Portuguese", "About 1,500 words, Markdown kept as it is.", "provider", 4500),
    ("Design a logo for the marketplace", "Three sketches, one final SVG.", "provider", 12000),
    ("Fix the flaky CSV export", "The export drops the last row now and then.", "provider", 2750),
    ("Translate the landing page into German", "About 800 words; the headings kept short.", "paula", 4000),
]


class Command(BaseCommand):
    help = "Creates the demo key, wallets (on the local wallet), users, jobs and quotes."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--wallet", default=settings.TESTWALLET_URL, help="the local wallet's base URL")
        parser.add_argument("--key-file", default=str(settings.VAR_DIR / "marketplace-private.pem"))
        parser.add_argument("--env-file", default=str(settings.VAR_DIR / "demo.env"))

    def handle(self, *args: Any, wallet: str, key_file: str, env_file: str, **options: Any) -> None:
        admin = httpx.Client(base_url=wallet.rstrip("/") + "/_admin", timeout=10)
        key = demo_key(Path(key_file))
        client_wallet = ensure_wallet(admin, Person("marketplace", "Open Jobs Marketplace"))
        answered(admin.post("/wallets/marketplace/keys", json=public_jwk(key, KEY_ID)), "the key")
        ensure_rates(admin)
        users = {
            username: ensure_user(username, ensure_wallet(admin, person), person)
            for username, person in PEOPLE.items()
        }
        ensure_staff(STAFF_USERNAME)
        ensure_jobs(users)
        write_env(Path(env_file), client_wallet["id"], Path(key_file))
        self.stdout.write(
            f"demo data ready; log in as funder, provider, paula or {STAFF_USERNAME} "
            f"with password {DEMO_PASSWORD}"
        )


def demo_key(path: Path) -> Any:
    """The marketplace's Ed25519 key: read from `path`, or generated there (mode 0600) the first time."""
    if path.exists():
        return load_private_key(path)
    key = generate_private_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_key_pem(key))
    return key


def answered(response: httpx.Response, what: str) -> dict[str, Any]:
    """The local wallet's answer about `what`; CommandError, saying what it answered, on a refusal."""
    if response.status_code >= 400:
        raise CommandError(f"the local wallet refused {what}: {response.status_code} {response.text}")
    return dict(response.json())


def ensure_wallet(admin: httpx.Client, person: Person) -> dict[str, Any]:
    """The person's wallet document, creating the wallet (with its balance) when the local wallet lacks
    it."""
    response = admin.get(f"/wallets/{person.wallet}")
    if response.status_code == 404:
        body = {
            "name": person.wallet,
            "publicName": person.public_name,
            "assetCode": person.asset_code,
            "assetScale": SCALE,
            "balance": str(person.balance),
        }
        response = admin.post("/wallets", json=body)
    return answered(response, f"wallet {person.wallet!r}")


def ensure_rates(admin: httpx.Client) -> None:
    """The demo's exchange rates at the local wallet, added to what it has when it was started without
    them (`--rate`); a rate it has for the pair, either way round, is kept."""
    rates: dict[str, str] = answered(admin.get("/settings"), "its settings")["rates"]
    missing = {}
    for rate in RATES:
        pair, _, value = rate.partition("=")
        source, _, target = pair.partition(":")
        if pair not in rates and f"{target}:{source}" not in rates:
            missing[pair] = value
    if missing:
        answered(admin.put("/settings", json={"rates": {**rates, **missing}}), "the exchange rates")


def ensure_user(username: str, wallet: dict[str, Any], person: Person) -> User:
    """The demo user with a profile holding `wallet`."""
    first, _, last = person.public_name.partition(" ")
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_password(DEMO_PASSWORD)
    # Named as their wallets name them, so receipts and pages say "Pavel Provider", not "provider".
    user.first_name, user.last_name = first, last
    user.email = user.email or f"{username}@example.com"
    user.save()
    Profile.objects.update_or_create(
        user=user,
        defaults={
            "is_funder": person.funds,
            "is_provider": person.provides,
            "wallet_address": wallet["id"],
            "wallet_id": wallet["id"],
            "asset_code": wallet["assetCode"],
            "asset_scale": wallet["assetScale"],
        },
    )
    return user


def ensure_staff(username: str) -> User:
    """The demo's staff member: may read everything of the jobs app (the payments dashboard, the admin)
    and change nothing."""
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_password(DEMO_PASSWORD)
    user.is_staff = True
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="jobs", codename__startswith="view_")
    )
    return user


def ensure_jobs(users: dict[str, User]) -> None:
    """The funder's demo jobs, each with its provider's quote in their wallet's asset; a job the funder
    has already (by its title) is left as it is."""
    funder = users["funder"]
    for title, description, username, amount in JOBS:
        if Job.objects.filter(funder=funder, title=title).exists():
            continue
        job = Job.objects.create(funder=funder, title=title, description=description)
        Quote.objects.create(
            job=job,
            provider=users[username],
            amount_value=amount,
            asset_code=PEOPLE[username].asset_code,
            asset_scale=SCALE,
            note="I can start tomorrow.",
        )


def write_env(path: Path, client_wallet: str, key_file: Path) -> None:
    """The Open Payments settings of the demo, as KEY=value lines."""
    path.write_text(
        f"OP_CLIENT_WALLET_ADDRESS={client_wallet}\nOP_KEY_ID={KEY_ID}\nOP_PRIVATE_KEY={key_file}\n"
    )
