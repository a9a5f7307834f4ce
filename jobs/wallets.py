"""Resolving the wallet address a person types on their profile: the one wallet call the web process
makes, bounded as a whole (connect, headers and body together) by `OP_LOOKUP_DEADLINE_SECONDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from marketplace.open_payments import open_payments_client
from payments import NotFound, OpenPaymentsError, TransportError, UnsafeURLError, deadline


class WalletAddressRefused(Exception):
    """A wallet address that cannot be used, with the reason in plain words."""


@dataclass(frozen=True)
class ResolvedWallet:
    """What the marketplace keeps of a wallet address."""

    id: str
    asset_code: str
    asset_scale: int
    public_name: str | None
    auth_server: str


def lookup_deadline() -> float:
    """Seconds the whole look-up may take."""
    values: dict[str, Any] = settings.OPEN_PAYMENTS
    return float(values["LOOKUP_DEADLINE_SECONDS"])


def wallet_address_resolve(address: str) -> ResolvedWallet:
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
    return ResolvedWallet(
        id=wallet.id,
        asset_code=wallet.asset_code,
        asset_scale=wallet.asset_scale,
        public_name=wallet.public_name,
        auth_server=wallet.auth_server,
    )
