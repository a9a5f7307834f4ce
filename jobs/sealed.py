"""Secrets the marketplace must keep between requests (a budget's grant tokens), sealed at rest.

A sealed value is Fernet (AES-128-CBC and HMAC-SHA256) under the first key of `settings.SEALING_KEYS`;
any key in the list opens one. To rotate: put a new key first, keep the old one after it, run
`manage.py reseal` (every sealed value is sealed again under the new key), then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def derived_key(secret_key: str) -> str:
    """The sealing key a deployment without SEALING_KEYS uses: derived from Django's SECRET_KEY."""
    digest = hashlib.sha256(b"marketplace sealing key\n" + secret_key.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "SEALING_KEYS must be Fernet keys (32 bytes, url-safe base64), comma-separated."
        ) from None


def sealer() -> MultiFernet:
    """The keys of the settings, the first sealing."""
    keys = tuple(settings.SEALING_KEYS) or (derived_key(settings.SECRET_KEY),)
    return _fernet(keys)


class Unsealable(Exception):
    """A sealed value none of the keys opens (a key was dropped too early, or the value was altered)."""


def seal(text: str) -> str:
    """`text` sealed; the empty string stays empty (nothing to hide)."""
    return sealer().encrypt(text.encode("utf-8")).decode("ascii") if text else ""


def unseal(sealed: str) -> str:
    """What `seal` sealed."""
    if not sealed:
        return ""
    try:
        return sealer().decrypt(sealed.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise Unsealable("a sealed value none of SEALING_KEYS opens") from None


def reseal(sealed: str) -> str:
    """The same secret sealed again under the first key."""
    if not sealed:
        return ""
    try:
        return sealer().rotate(sealed.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise Unsealable("a sealed value none of SEALING_KEYS opens") from None


class SealedField(models.TextField):  # type: ignore[type-arg]
    """Text the model holds in the clear and the database holds sealed."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else unseal(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else seal(str(value))
