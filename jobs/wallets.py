"""Resolving the wallet address a person types on their profile: the one wallet call the web process
makes, bounded as a whole (connect, headers and body together) by `OP_LOOKUP_DEADLINE_SECONDS`."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from marketplace.open_payments import open_payments_client
from payments import NotFound, OpenPaymentsError, TransportError, UnsafeURLError, WalletAddress, deadline


class WalletAddressRefused(Exception):
    """A wallet address that cannot be used, with the reason in plain words."""


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
        with deadline(lookup_deadline()):
            wallet = open_payments_client().wallet_addresses.get(text)
    except UnsafeURLError as exc:
        raise WalletAddressRefused(f"{text} cannot be used as a wallet address: {exc}") from None
    except NotFound:
        raise WalletAddressRefused(f"No wallet was found at {text}.") from None
    except TransportError:
        raise WalletAddressRefused(
            f"The wallet at {text} did not answer; check the address and try again."
        ) from None
    except OpenPaymentsError as exc:
        raise WalletAddressRefused(
            f"{text} did not answer as an Open Payments wallet address ({exc})."
        ) from None
    return wallet
