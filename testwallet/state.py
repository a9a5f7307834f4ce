"""The in-memory state of the wallet, its lock, its clock, and the seed / ``--state`` file formats.

Every read-modify-write of the store happens while holding :attr:`Store.lock` and without awaiting,
so concurrent requests on the event loop (and threads, e.g. a test talking to an in-thread server's
store) never interleave half-done changes.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .config import Settings
from .formats import parse_uint64
from .models import (
    AccessToken,
    Grant,
    IncomingPayment,
    Interaction,
    OutgoingPayment,
    Quote,
    Wallet,
)
from .urls import Urls, valid_wallet_name


class SeedError(ValueError):
    """A seed file or admin wallet description that cannot be used."""


class Clock:
    """Wall-clock milliseconds, shiftable forward by the admin API to test expiry without sleeping."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def now(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms


class Store:
    """All wallets, grants, tokens, interactions and payments, with lookup indexes."""

    def __init__(self, urls: Urls, settings: Settings, *, ilp_prefix: str = "test.testwallet") -> None:
        self.urls = urls
        self.settings = settings
        self.ilp_prefix = ilp_prefix
        self.lock = threading.RLock()
        self.clock = Clock()
        self.wallets: dict[str, Wallet] = {}
        self.grants: dict[str, Grant] = {}
        self.grants_by_continue: dict[str, Grant] = {}
        self.interactions: dict[str, Interaction] = {}
        self.interactions_by_ref: dict[str, Interaction] = {}
        self.interaction_by_grant: dict[str, Interaction] = {}
        self.tokens: dict[str, AccessToken] = {}  # by value
        self.tokens_by_manage: dict[str, AccessToken] = {}
        self.incoming: dict[str, IncomingPayment] = {}
        self.quotes: dict[str, Quote] = {}
        self.outgoing: dict[str, OutgoingPayment] = {}

    def now(self) -> int:
        return self.clock.now()

    # --- wallets ------------------------------------------------------------------------------------

    def add_wallet(self, description: dict[str, Any]) -> Wallet:
        """Create a wallet from a seed entry; SeedError when it is malformed or the name is taken."""
        wallet = wallet_from_seed(description)
        with self.lock:
            if wallet.name in self.wallets:
                raise SeedError(f"wallet {wallet.name!r} already exists")
            self.wallets[wallet.name] = wallet
        return wallet

    def wallet_by_url(self, url: object) -> Wallet | None:
        name = self.urls.wallet_name(url)
        return self.wallets.get(name) if name else None

    def load_seed(self, seed: dict[str, Any]) -> None:
        wallets = seed.get("wallets")
        if not isinstance(wallets, list):
            raise SeedError('seed must be {"wallets": [...]}')
        for entry in wallets:
            self.add_wallet(entry)

    # --- persistence (--state FILE) ---------------------------------------------------------------

    _TABLES = (
        ("wallets", Wallet, "name"),
        ("grants", Grant, "id"),
        ("interactions", Interaction, "id"),
        ("tokens", AccessToken, "value"),
        ("incoming", IncomingPayment, "id"),
        ("quotes", Quote, "id"),
        ("outgoing", OutgoingPayment, "id"),
    )

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to restart where we stopped, as JSON-compatible data."""
        with self.lock:
            data: dict[str, Any] = {"version": 1, "clockOffsetMs": self.clock.offset_ms}
            for table, _, _ in self._TABLES:
                data[table] = [dataclasses.asdict(record) for record in getattr(self, table).values()]
            return data

    def restore(self, data: dict[str, Any]) -> None:
        """Load a :meth:`snapshot`; replaces the current content."""
        with self.lock:
            self.clock.offset_ms = int(data.get("clockOffsetMs", 0))
            for table, cls, key in self._TABLES:
                records = {}
                for raw in data.get(table, []):
                    record = cls(**_tuples(cls, raw))
                    records[getattr(record, key)] = record
                setattr(self, table, records)
            self.grants_by_continue = {g.continue_id: g for g in self.grants.values()}
            self.interactions_by_ref = {i.ref: i for i in self.interactions.values()}
            self.interaction_by_grant = {i.grant_id: i for i in self.interactions.values()}
            self.tokens_by_manage = {t.manage_id: t for t in self.tokens.values()}

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.snapshot()))
        tmp.replace(path)

    def load(self, path: Path) -> None:
        self.restore(json.loads(path.read_text()))


def _tuples(cls: type, raw: dict[str, Any]) -> dict[str, Any]:
    """JSON turned the (code, scale) asset tuples into lists; turn them back."""
    fields = {f.name for f in dataclasses.fields(cls)}
    return {
        k: tuple(v) if k.endswith("_asset") and isinstance(v, list) else v
        for k, v in raw.items()
        if k in fields
    }


def wallet_from_seed(entry: object) -> Wallet:
    """Validate one ``{"name", "publicName", "assetCode", "assetScale", "balance", "keys"}`` entry."""
    if not isinstance(entry, dict):
        raise SeedError("a wallet must be an object")
    name = entry.get("name")
    if not isinstance(name, str) or not valid_wallet_name(name):
        raise SeedError(f"invalid wallet name {name!r}")
    asset_code = entry.get("assetCode")
    if not isinstance(asset_code, str) or not asset_code:
        raise SeedError(f"wallet {name!r}: assetCode must be a non-empty string")
    scale = entry.get("assetScale")
    if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= 255:
        raise SeedError(f"wallet {name!r}: assetScale must be an integer 0..255")
    public_name = entry.get("publicName")
    if public_name is not None and not isinstance(public_name, str):
        raise SeedError(f"wallet {name!r}: publicName must be a string")
    raw_balance = entry.get("balance", "0")
    balance = parse_uint64(raw_balance if not isinstance(raw_balance, int) else str(raw_balance))
    if balance is None or isinstance(raw_balance, bool):
        raise SeedError(f"wallet {name!r}: balance must be a non-negative integer string")
    keys = entry.get("keys", [])
    if not isinstance(keys, list):
        raise SeedError(f"wallet {name!r}: keys must be a list of JWKs")
    return Wallet(
        name=name,
        asset_code=asset_code,
        asset_scale=scale,
        public_name=public_name,
        balance=balance,
        keys=[validate_jwk(key, name) for key in keys],
    )


def validate_jwk(jwk: object, wallet: str) -> dict[str, str]:
    """Keep only the published members of an Ed25519 public JWK; SeedError when it is not one."""
    if not isinstance(jwk, dict):
        raise SeedError(f"wallet {wallet!r}: a key must be a JWK object")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or jwk.get("alg", "EdDSA") != "EdDSA":
        raise SeedError(f"wallet {wallet!r}: keys must be Ed25519 (kty OKP, crv Ed25519, alg EdDSA)")
    kid, x = jwk.get("kid"), jwk.get("x")
    if not isinstance(kid, str) or not kid or not isinstance(x, str) or not x:
        raise SeedError(f"wallet {wallet!r}: a key needs kid and x")
    if "d" in jwk:
        raise SeedError(f"wallet {wallet!r}: refusing a private JWK (it has 'd')")
    published = {"kid": kid, "x": x, "alg": "EdDSA", "kty": "OKP", "crv": "Ed25519"}
    if jwk.get("use") == "sig":
        published["use"] = "sig"
    return published


def jwks_document(keys: Iterable[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    return {"keys": [dict(key) for key in keys]}
