"""Resolving the wallet addresses users type into their profile."""

from __future__ import annotations

from dataclasses import dataclass

from payments import NotFound, OpenPaymentsError, TransportError, UnsafeURLError
from worker.client import open_payments_client


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


def resolve_wallet_address(address: str) -> ResolvedWallet:
    """Fetches the wallet address (URL or $pointer) through the SSRF guard; refuses it with a reason."""
    text = address.strip()
    if not text:
        raise WalletAddressRefused("Enter your wallet address, e.g. https://wallet.example/alice.")
    try:
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
