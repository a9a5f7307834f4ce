"""The Open Payments client of this process, built once from settings: the workers' for every payment
step, the web process's for the one look-up it makes (`jobs.wallets`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections

from marketplace import metrics
from payments import OpenPaymentsClient, load_private_key
from payments.client import ClientConfig
from payments.safe_http import HostList, check_ca_bundle

REQUIRED = {
    "CLIENT_WALLET_ADDRESS": "OP_CLIENT_WALLET_ADDRESS",
    "KEY_ID": "OP_KEY_ID",
    "PRIVATE_KEY": "OP_PRIVATE_KEY",
}


def client_config() -> ClientConfig:
    """The client's configuration from `settings.OPEN_PAYMENTS`; names every missing variable, and the
    variable of a value it cannot use (a host list entry, the CA bundle)."""
    values: dict[str, Any] = settings.OPEN_PAYMENTS
    missing = [variable for key, variable in REQUIRED.items() if not values.get(key)]
    if missing:
        raise ImproperlyConfigured(f"Open Payments is not configured: set {', '.join(missing)}.")
    try:
        HostList(values["HTTP_HOSTS"], name="OP_HTTP_HOSTS")
        HostList(values["PRIVATE_HOSTS"], name="OP_PRIVATE_HOSTS")
        if values["CA_BUNDLE"]:
            check_ca_bundle(values["CA_BUNDLE"])
    except ValueError as exc:
        raise ImproperlyConfigured(f"Open Payments is not configured: {exc}.") from None
    return ClientConfig(
        wallet_address_url=values["CLIENT_WALLET_ADDRESS"],
        key_id=values["KEY_ID"],
        private_key=load_private_key(values["PRIVATE_KEY"]),
        timeout=float(values["TIMEOUT_SECONDS"]),
        deadline=float(values["DEADLINE_SECONDS"]),
        allowed_http_hosts=frozenset(values["HTTP_HOSTS"]),
        private_hosts=frozenset(values["PRIVATE_HOSTS"]),
        ca_bundle=values["CA_BUNDLE"] or None,
        on_call=metrics.wallet_call,
        before_call=release_database if settings.DATABASE_POOL_SIZE else None,
    )


def release_database() -> None:
    """Gives this thread's pooled database connection back while a wallet answers, unless a transaction
    holds it; the next query takes one from the pool again."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.connection is not None and not connection.in_atomic_block:
        connection.close()


@lru_cache(maxsize=1)
def open_payments_client() -> OpenPaymentsClient:
    """One client (and so one pooled HTTP connection set) per process, made on first use."""
    return OpenPaymentsClient(client_config())
