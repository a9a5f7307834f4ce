"""Small builders for the jobs tests: people with roles and wallets, jobs, quotes and attempts in any status.

Attempts are written straight to the database in the status a test needs (the state machine is tested
on its own); every secret they hold is a recognisable `SECRET-…` string the tests look for in responses.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from jobs.models import AttemptStatus, Job, PaymentAttempt, Profile, Quote

PASSWORD = "a-long-test-password-42"
AUTH_SERVER = "https://auth.wallet.example/"
SECRETS = {
    "incoming_token": "SECRET-incoming-token-1111",
    "continue_token": "SECRET-continue-token-2222",
    "access_token": "SECRET-access-token-3333",
    "client_nonce": "SECRET-client-nonce-4444",
    "interact_nonce": "SECRET-interact-nonce-5555",
}


def user(
    username: str, *, funder: bool = False, provider: bool = False, wallet: bool = True, **wallet_fields: Any
) -> User:
    """A user with a profile; `wallet` gives them a resolved USD wallet at wallet.example."""
    person = User.objects.create_user(username=username, password=PASSWORD)
    profile = {"wallet_address": "", "wallet_id": "", "asset_code": "", "asset_scale": None}
    if wallet:
        url = f"https://wallet.example/{username}"
        profile = {"wallet_address": url, "wallet_id": url, "asset_code": "USD", "asset_scale": 2}
    profile.update(wallet_fields)
    Profile.objects.create(user=person, is_funder=funder, is_provider=provider, **profile)
    return person


def funder(username: str = "fiona", **kwargs: Any) -> User:
    return user(username, funder=True, **kwargs)


def provider(username: str = "pavel", **kwargs: Any) -> User:
    return user(username, provider=True, **kwargs)


def job(
    owner: User, title: str = "Translate the README", description: str = "Into Portuguese.", **fields: Any
) -> Job:
    return Job.objects.create(funder=owner, title=title, description=description, **fields)


def quote(on: Job, by: User, amount_value: int = 1250, **fields: Any) -> Quote:
    fields.setdefault("asset_code", "USD")
    fields.setdefault("asset_scale", 2)
    return Quote.objects.create(job=on, provider=by, amount_value=amount_value, note="Two days.", **fields)


def attempt(of: Quote, status: str = AttemptStatus.GENERATING, **fields: Any) -> PaymentAttempt:
    """An attempt of `of` in `status`, carrying what the pipeline would have learned by then."""
    now = timezone.now()
    values: dict[str, Any] = {
        "sender_wallet": f"https://wallet.example/{of.job.funder.username}",
        "receiver_wallet": f"https://wallet.example/{of.provider.username}",
        "sender_auth_server": AUTH_SERVER,
    }
    if status != AttemptStatus.GENERATING:
        values.update(
            SECRETS,
            incoming_payment_url="https://wallet.example/incoming-payments/in-1",
            incoming_amount=of.amount_value,
            receive_asset_code="USD",
            receive_asset_scale=2,
            op_quote_url="https://wallet.example/quotes/q-1",
            debit_amount=1300,
            debit_asset_code="USD",
            debit_asset_scale=2,
            receive_amount=1250,
            payment_url="https://auth.wallet.example/interact/i-1/ABCDEF0123456789",
            continue_uri="https://auth.wallet.example/continue/c-1",
            link_ready_at=now,
            authorization_expires_at=now + timedelta(minutes=9, seconds=30),
        )
    if status in (AttemptStatus.AUTHORIZED, AttemptStatus.PROCESSING, AttemptStatus.SUCCEEDED):
        values.update(interact_ref="SECRET-interact-ref-6666", authorized_at=now)
    if status in (AttemptStatus.PROCESSING, AttemptStatus.SUCCEEDED):
        values.update(outgoing_payment_url="https://wallet.example/outgoing-payments/out-1")
    if status == AttemptStatus.SUCCEEDED:
        values.update(sent_amount=1300, received_amount=1250, finished_at=now)
    values.update(fields)
    return PaymentAttempt.objects.create(job=of.job, quote=of, status=status, **values)


def logged_in(person: User, *, csrf: bool = False) -> Client:
    """A test client logged in as `person`; `csrf` makes it check CSRF tokens like a browser would."""
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(person)
    return client


def statuses(on: Job) -> list[str]:
    """The job's attempt statuses, oldest first: what a refusal must leave unchanged."""
    return list(on.attempts.order_by("created_at").values_list("status", flat=True))


def assert_nothing_enqueued(tasks: SimpleNamespace) -> None:
    """No task of any kind was enqueued (`tasks` is the fixture of tests/jobs/conftest.py)."""
    for name in ("generate_link", "continue_grant", "poll", "cancel_grant"):
        getattr(tasks, name).assert_not_called()
