"""`manage.py demo_data`: the marketplace's own key, demo wallets on the local wallet, users, jobs, quotes.

Safe to run again: the key is kept, existing wallets, users and jobs are reused. Writes the Open Payments
settings the web and worker processes need to an env file (`var/demo.env` by default).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from jobs.models import Job, Profile, Quote
from marketplace.demo import DEMO_PASSWORD, KEY_ID
from payments import generate_private_key, load_private_key, private_key_pem, public_jwk

PEOPLE = {
    # username: (wallet name, public name, funder?, provider?, starting balance in minor units)
    "funder": ("fiona", "Fiona Funder", True, False, 1_000_000),
    "provider": ("pavel", "Pavel Provider", False, True, 0),
}
JOBS = [
    ("Translate the README into Portuguese", "About 1,500 words, Markdown kept as it is.", 4500),
    ("Design a logo for the marketplace", "Three sketches, one final SVG.", 12000),
    ("Fix the flaky CSV export", "The export drops the last row now and then.", 2750),
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
        client_wallet = ensure_wallet(admin, "marketplace", "Open Jobs Marketplace", balance=0)
        admin.post("/wallets/marketplace/keys", json=public_jwk(key, KEY_ID)).raise_for_status()
        users = {}
        for username, (name, public_name, funds, provides, balance) in PEOPLE.items():
            document = ensure_wallet(admin, name, public_name, balance=balance)
            users[username] = ensure_user(username, document, funds=funds, provides=provides)
        ensure_jobs(users["funder"], users["provider"])
        write_env(Path(env_file), client_wallet["id"], Path(key_file))
        self.stdout.write(f"demo data ready; log in as funder / provider with password {DEMO_PASSWORD}")


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


def ensure_wallet(admin: httpx.Client, name: str, public_name: str, *, balance: int) -> dict[str, Any]:
    """The wallet's admin document, creating the wallet (with `balance`) when the local wallet lacks it."""
    response = admin.get(f"/wallets/{name}")
    if response.status_code == 404:
        body = {
            "name": name,
            "publicName": public_name,
            "assetCode": "USD",
            "assetScale": 2,
            "balance": str(balance),
        }
        response = admin.post("/wallets", json=body)
    if response.status_code >= 400:
        raise CommandError(
            f"the local wallet refused wallet {name!r}: {response.status_code} {response.text}"
        )
    return dict(response.json())


def ensure_user(username: str, wallet: dict[str, Any], *, funds: bool, provides: bool) -> User:
    """The demo user with a profile holding `wallet`."""
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    Profile.objects.update_or_create(
        user=user,
        defaults={
            "is_funder": funds,
            "is_provider": provides,
            "wallet_address": wallet["id"],
            "wallet_id": wallet["id"],
            "asset_code": wallet["assetCode"],
            "asset_scale": wallet["assetScale"],
        },
    )
    return user


def ensure_jobs(funder: User, provider: User) -> None:
    """The demo jobs, each with the provider's quote, unless the funder already has jobs."""
    if Job.objects.filter(funder=funder).exists():
        return
    for title, description, amount in JOBS:
        job = Job.objects.create(funder=funder, title=title, description=description)
        Quote.objects.create(
            job=job,
            provider=provider,
            amount_value=amount,
            asset_code="USD",
            asset_scale=2,
            note="I can start tomorrow.",
        )


def write_env(path: Path, client_wallet: str, key_file: Path) -> None:
    """The Open Payments settings of the demo, as KEY=value lines."""
    path.write_text(
        f"OP_CLIENT_WALLET_ADDRESS={client_wallet}\nOP_KEY_ID={KEY_ID}\nOP_PRIVATE_KEY={key_file}\n"
    )
