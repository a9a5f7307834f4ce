"""SSRF through the profile form, as production runs it (https only, no private hosts): every address that
would make the server reach inside is refused before a connection is opened, and nothing is saved."""

from __future__ import annotations

import base64
import html
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from jobs.models import Profile
from marketplace.open_payments import open_payments_client
from payments import generate_private_key, private_key_pem

pytestmark = pytest.mark.django_db

# What the fake DNS answers for each name.
DNS = {
    "loopback.example": "127.0.0.1",
    "private.example": "10.0.0.7",
    "router.example": "192.168.1.1",
    "metadata.example": "169.254.169.254",
    "cgnat.example": "100.64.1.1",
    "v6-loopback.example": "::1",
    "v6-mapped.example": "::ffff:172.16.0.1",
}


@pytest.fixture(autouse=True)
def production_policy(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """No plain-http or private hosts, a real key, a fake DNS, and any socket connection fails the test."""
    key = base64.b64encode(private_key_pem(generate_private_key())).decode()
    settings.OPEN_PAYMENTS = {
        **settings.OPEN_PAYMENTS,
        "CLIENT_WALLET_ADDRESS": "https://marketplace.example/me",
        "KEY_ID": "k1",
        "PRIVATE_KEY": key,
        "HTTP_HOSTS": [],
        "PRIVATE_HOSTS": [],
    }
    looked_up: list[tuple[str, int]] = []

    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        looked_up.append((host, port))
        address = DNS.get(host, host)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    def no_connection(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a connection was opened: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", no_connection)
    open_payments_client.cache_clear()
    yield looked_up
    open_payments_client.cache_clear()


def save_wallet(address: str) -> tuple[int, str, Profile]:
    user = User.objects.create_user(username="mallory", password="a-long-test-password-42")
    Profile.objects.create(user=user)
    browser = Client()
    browser.force_login(user)
    response = browser.post("/profile", {"is_provider": "on", "wallet_address": address})
    return response.status_code, html.unescape(response.content.decode()), Profile.objects.get(user=user)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("https://loopback.example/alice", "resolves to a loopback address 127.0.0.1"),
        ("https://private.example/alice", "resolves to a private address 10.0.0.7"),
        ("https://router.example/alice", "resolves to a private address 192.168.1.1"),
        ("https://metadata.example/latest", "resolves to a cloud metadata address 169.254.169.254"),
        ("https://cgnat.example/alice", "resolves to a non-public address 100.64.1.1"),
        ("https://v6-loopback.example/alice", "resolves to a loopback address ::1"),
        ("$private.example/alice", "resolves to a private address 10.0.0.7"),
        ("https://127.0.0.1/alice", "127.0.0.1"),
        ("https://[::1]/alice", "::1"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://wallet.example/alice", "plain http is only allowed for configured hosts"),
        ("file:///etc/passwd", ""),
        ("ftp://wallet.example/alice", ""),
        ("gopher://127.0.0.1:6379/_INFO", ""),
        ("javascript:alert(1)", ""),
        ("dict://127.0.0.1:6379/info", ""),
    ],
)
def test_an_address_reaching_inside_is_refused_before_any_connection(
    address: str, reason: str, production_policy: list[tuple[str, int]]
) -> None:
    # when the address is saved on the profile form
    status, page, profile = save_wallet(address)

    # then the form refuses it (naming why, when the guard got that far), nothing is saved, and no socket was
    # opened (the fixture fails the test on any connection)
    assert status == 200
    error = page.split('id="id_wallet_address_error">', 1)[1].split("</ul>", 1)[0]
    assert reason in error
    assert "cannot be used as a wallet address" in error or "as a URL (https://…)" in error
    assert (profile.wallet_address, profile.wallet_id) == ("", "")
