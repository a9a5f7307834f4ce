"""Resolving the wallet address a person types on their profile: the one wallet call the web process
makes, bounded as a whole (connect, headers and body together) by `OP_LOOKUP_DEADLINE_SECONDS`."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from marketplace.open_payments import open_payments_client
from payments import (
    HostNotFound,
    NotFound,
    OpenPaymentsError,
    TLSError,
    TransportError,
    UnsafeURLError,
    WalletAddress,
    deadline,
)

log = logging.getLogger("jobs.wallets")

NOT_SET_UP = (
    "Wallet addresses cannot be checked right now because of a problem in this marketplace's set-up; its "
    "operators can see this error."
)


class WalletAddressRefused(Exception):
    """A wallet address that cannot be used, with the reason in plain words."""


TLS_PROBLEMS = {
    "certificate": "uses a certificate this marketplace does not trust, so we did not connect.",
    "hostname": "presented a certificate for another address, so we did not connect.",
    "tls": "could not set up a secure connection with this marketplace.",
}


def connection_problem(exc: TransportError) -> str | None:
    """What a person reads when a wallet cannot be reached for a reason that waiting will not fix (its
    certificate, its host name); None for a connection that may work later."""
    host = urlsplit(exc.url).hostname or "this address"
    if isinstance(exc, TLSError):
        return f"The wallet at {host} {TLS_PROBLEMS.get(exc.reason, TLS_PROBLEMS['tls'])}"
    if isinstance(exc, HostNotFound):
        return f"There is no server named {host}: check the wallet address."
    return None


def lookup_deadline() -> float:
    """Seconds the whole look-up may take."""
    values: dict[str, Any] = settings.OPEN_PAYMENTS
    return float(values["LOOKUP_DEADLINE_SECONDS"])


def wallet_address_resolve(address: str) -> WalletAddress:
    """Fetches the wallet address (URL or $pointer) through the SSRF guard, within the look-up deadline;
    refuses it with a reason."""
    text = address.strip()
    if not text:
        raise WalletAddressRefused("Enter your wallet address, e.g. https://wallet.example/alice.")
    try:
        client = open_payments_client()
    except ImproperlyConfigured as exc:
        log.error("wallet look-up impossible: %s", exc)
        raise WalletAddressRefused(NOT_SET_UP) from None
    try:
        with deadline(lookup_deadline()):
            wallet = client.wallet_addresses.get(text)
    except UnsafeURLError as exc:
        raise WalletAddressRefused(f"{text} cannot be used as a wallet address: {exc}") from None
    except NotFound:
        raise WalletAddressRefused(f"No wallet was found at {text}.") from None
    except TransportError as exc:
        problem = connection_problem(exc)
        if problem:
            raise WalletAddressRefused(problem) from None
        raise WalletAddressRefused(
            f"The wallet at {text} did not answer; check the address and try again."
        ) from None
    except OpenPaymentsError as exc:
        raise WalletAddressRefused(
            f"{text} did not answer as an Open Payments wallet address ({exc})."
        ) from None
    return wallet
