"""URL helpers: payment pointers and resource-server paths."""

from __future__ import annotations

from .exceptions import UnsafeURLError

__all__ = ["resource_url", "wallet_address_url"]


def wallet_address_url(url_or_pointer: str) -> str:
    """Turn a payment pointer (``$wallet.example/alice``) into its https URL; URLs pass unchanged."""
    text = url_or_pointer.strip()
    if not text.startswith("$"):
        return text
    rest = text[1:]
    if not rest or rest.startswith("/"):
        raise UnsafeURLError("a payment pointer needs a host after '$'")
    # Payment pointer spec: a bare host means the well-known path.
    return "https://" + rest if "/" in rest else f"https://{rest}/.well-known/pay"


def resource_url(base: str, *segments: str) -> str:
    """Append path segments to a server URL as advertised, e.g. ``<resourceServer>/quotes``."""
    return "/".join([base.rstrip("/"), *segments])
