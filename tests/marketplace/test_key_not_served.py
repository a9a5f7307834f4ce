"""The private key file is never served, whatever path a visitor tries."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

PATHS = [
    "/var/marketplace-private.pem",
    "/marketplace-private.pem",
    "/static/marketplace-private.pem",
    "/static/../marketplace-private.pem",
    "/static/%2e%2e/marketplace-private.pem",
    "/static/..%2fmarketplace-private.pem",
    "/media/marketplace-private.pem",
    "/.env",
]


@pytest.mark.parametrize("path", PATHS)
def test_the_private_key_file_is_not_served(path: str) -> None:
    # given the demo's key file where the demo writes it
    key = settings.VAR_DIR / "marketplace-private.pem"
    existed = key.exists()
    if not existed:
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nTEST-ONLY-KEY-BODY\n-----END PRIVATE KEY-----\n")
        key.chmod(0o600)
    try:
        # when a visitor asks for it
        response = Client().get(path)

        # then nothing of it comes back
        body = b"".join(response) if response.streaming else response.content
        assert response.status_code in (400, 404)
        assert b"PRIVATE KEY" not in body
    finally:
        if not existed:
            key.unlink()
