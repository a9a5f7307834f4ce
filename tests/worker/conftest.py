"""The real stack for pipeline tests: the local wallet over HTTP, Redis, a worker process, the test DB."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from jobs.models import Job, Profile, Quote
from marketplace.open_payments import open_payments_client
from marketplace.processes import local_wallet
from tests import services
from testwallet.testing import ClientIdentity, RunningWallet

FUNDER_BALANCE = 100_000


@dataclass
class Stack:
    """What a pipeline test works with."""

    wallet: RunningWallet
    client: ClientIdentity
    env: dict[str, str]
    queue: str
    log_dir: Path

    def worker(self, wait_ready: bool = True, threads: int = 0, **extra_env: str) -> Any:
        """A worker process for this stack (a context manager; prefork, or with `threads` threads), with
        `extra_env` on top."""
        return services.celery_worker(
            concurrency=threads or 1,
            pool="threads" if threads else "prefork",
            wait_ready=wait_ready,
            database=services.database_url(connection.settings_dict),
            queue=self.queue,
            log=self.log_dir / f"worker-{len(list(self.log_dir.glob('worker-*')))}.log",
            extra_env={**self.env, **extra_env},
        )


def wallet_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Options of the local wallet, overridable per test with `@pytest.mark.wallet(**options)`."""
    options: dict[str, Any] = {"auto_consent": "accept", "wait": 1, "settle_delay": 0.05}
    marker = request.node.get_closest_marker("wallet")
    if marker:
        options.update(marker.kwargs)
    return options


@pytest.fixture
def stack(
    request: pytest.FixtureRequest, transactional_db: None, celery_queue: str, tmp_path: Path, settings: Any
) -> Iterator[Stack]:
    """The local wallet (its own process) with a funder, a provider and the marketplace's client key."""
    seed = {
        "wallets": [
            {
                "name": "fiona",
                "publicName": "Fiona",
                "assetCode": "USD",
                "assetScale": 2,
                "balance": str(FUNDER_BALANCE),
            },
            {"name": "pavel", "publicName": "Pavel", "assetCode": "USD", "assetScale": 2, "balance": "0"},
        ]
    }
    with local_wallet(tmp_path, seed, **wallet_options(request)) as (wallet, client, op_env):
        env = {**op_env, "PUBLIC_BASE_URL": "http://testserver"}
        settings.OPEN_PAYMENTS = {
            **settings.OPEN_PAYMENTS,
            "CLIENT_WALLET_ADDRESS": client.url,
            "KEY_ID": client.key_id,
            "PRIVATE_KEY": op_env["OP_PRIVATE_KEY"],
            "HTTP_HOSTS": [host for host in op_env.get("OP_HTTP_HOSTS", "").split(",") if host],
            "PRIVATE_HOSTS": ["127.0.0.1"],
            "CA_BUNDLE": op_env.get("OP_CA_BUNDLE", ""),
        }
        settings.PUBLIC_BASE_URL = "http://testserver"
        open_payments_client.cache_clear()
        yield Stack(wallet=wallet, client=client, env=env, queue=celery_queue, log_dir=tmp_path)


def person(username: str, wallet_url: str, *, funder: bool = False, provider: bool = False) -> User:
    """A marketplace user whose profile holds a resolved wallet on the local wallet."""
    user = User.objects.create_user(username=username, password="a-long-test-password-42")
    Profile.objects.create(
        user=user,
        is_funder=funder,
        is_provider=provider,
        wallet_address=wallet_url,
        wallet_id=wallet_url,
        asset_code="USD",
        asset_scale=2,
    )
    return user


def job_with_quote(stack: Stack, amount: int = 1250) -> tuple[Job, Quote]:
    """A job by the funder `fiona` with a quote by the provider `pavel`."""
    funder = person("fiona", stack.wallet.wallet_url("fiona"), funder=True)
    provider = person("pavel", stack.wallet.wallet_url("pavel"), provider=True)
    job = Job.objects.create(funder=funder, title="Translate the README", description="Into Portuguese.")
    quote = Quote.objects.create(
        job=job, provider=provider, amount_value=amount, asset_code="USD", asset_scale=2
    )
    return job, quote
