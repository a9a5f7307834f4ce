"""The records the wallet keeps in memory. Money is always an ``int`` of minor units."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Wallet:
    """A wallet address hosted here: ``<base>/<name>``."""

    name: str
    asset_code: str
    asset_scale: int
    public_name: str | None = None
    balance: int = 0
    keys: list[dict[str, str]] = field(default_factory=list)


class GrantState:
    """Rafiki's grant states; a finalized grant carries its reason."""

    PENDING = "pending"
    APPROVED = "approved"
    FINALIZED = "finalized"


class Finalization:
    """Why a grant was finalized."""

    ISSUED = "issued"
    REJECTED = "rejected"
    REVOKED = "revoked"


@dataclass(slots=True)
class Grant:
    """A GNAP grant. ``client`` is the client wallet URL or ``{"jwk": {...}}`` (directed identity)."""

    id: str
    client: Any
    client_id: str  # the identity resources are scoped to: wallet URL, or "jwk:<x>"
    access: list[dict[str, Any]]
    continue_id: str
    continue_token: str
    created_at: int
    last_continued_at: int
    state: str = GrantState.PENDING
    finalization: str | None = None
    finish: dict[str, str] | None = None  # {"method", "uri", "nonce"} when the client asked for a redirect
    subject: dict[str, Any] | None = None
    interactive: bool = False
    client_name: str | None = None  # the client wallet's publicName, shown on the consent page

    @property
    def revoked(self) -> bool:
        return self.finalization == Finalization.REVOKED

    @property
    def rejected(self) -> bool:
        return self.finalization == Finalization.REJECTED


class InteractionState:
    """The consent decision recorded for an interaction."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(slots=True)
class Interaction:
    """The user-facing part of an interactive grant: ``/auth/interact/<id>/<nonce>``."""

    id: str
    nonce: str
    ref: str
    grant_id: str
    created_at: int
    state: str = InteractionState.PENDING


@dataclass(slots=True)
class AccessToken:
    """An access token; it is managed at ``/auth/token/<manage_id>``."""

    value: str
    manage_id: str
    grant_id: str
    created_at: int
    expires_in: int
    revoked: bool = False


@dataclass(slots=True)
class IncomingPayment:
    """Money expected into ``wallet``; ``incoming_amount`` None means open-ended."""

    id: str
    wallet: str
    client_id: str | None
    incoming_amount: int | None
    received: int
    completed: bool
    created_at: int
    expires_at: int
    metadata: dict[str, Any] | None
    ilp_address: str
    shared_secret: str


@dataclass(slots=True)
class Quote:
    """A priced offer to pay ``receiver`` from ``wallet``; it backs at most one outgoing payment."""

    id: str
    wallet: str
    client_id: str | None
    receiver: str  # incoming payment URL
    receiver_payment_id: str
    debit_amount: int
    debit_asset: tuple[str, int]
    receive_amount: int
    receive_asset: tuple[str, int]
    fee: int
    created_at: int
    expires_at: int
    used: bool = False


class PaymentState:
    """Internal life of an outgoing payment (the API only shows ``failed`` and ``sentAmount``)."""

    FUNDING = "funding"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(slots=True)
class OutgoingPayment:
    """A payment out of ``wallet``; its id is its quote's id (Rafiki)."""

    id: str
    wallet: str
    client_id: str | None
    grant_id: str
    receiver: str
    receiver_payment_id: str
    debit_amount: int
    debit_asset: tuple[str, int]
    receive_amount: int
    receive_asset: tuple[str, int]
    fee: int
    created_at: int
    metadata: dict[str, Any] | None
    sent: int = 0
    state: str = PaymentState.FUNDING
    failure: str | None = None

    @property
    def failed(self) -> bool:
        return self.state == PaymentState.FAILED
