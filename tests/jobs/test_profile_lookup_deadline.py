"""The one wallet call the web process makes, resolving a profile's wallet address, ends within its
deadline however slowly a wallet answers, and saves nothing."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from jobs.models import Profile
from marketplace.open_payments import open_payments_client
from payments import generate_private_key, private_key_pem

pytestmark = pytest.mark.django_db


@pytest.fixture
def trickling_wallet() -> Iterator[str]:
    """A wallet address on 127.0.0.1 that sends its headers, then a byte every 0.2 s for a minute."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 300\r\n\r\n"
            )
            for _ in range(300):
                if stop.is_set():
                    return
                try:
                    connection.sendall(b" ")
                except OSError:
                    return
                time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/alice"
    stop.set()
    server.close()


@pytest.fixture(autouse=True)
def lookup_in_one_second(settings: Any) -> Iterator[None]:
    """The local wallet's host allowed, a real key, and a 1 s deadline for the whole look-up."""
    settings.OPEN_PAYMENTS = {
        **settings.OPEN_PAYMENTS,
        "CLIENT_WALLET_ADDRESS": "https://marketplace.example/me",
        "KEY_ID": "k1",
        "PRIVATE_KEY": base64.b64encode(private_key_pem(generate_private_key())).decode(),
        "HTTP_HOSTS": ["127.0.0.1"],
        "TIMEOUT_SECONDS": 10,
        "LOOKUP_DEADLINE_SECONDS": 1,
    }
    open_payments_client.cache_clear()
    yield
    open_payments_client.cache_clear()


def test_a_wallet_that_trickles_its_answer_is_refused_at_the_deadline_and_nothing_is_saved(
    trickling_wallet: str,
) -> None:
    # given a provider without a wallet yet
    user = User.objects.create_user(username="pia", password="a-long-test-password-42")
    Profile.objects.create(user=user, is_provider=True)
    browser = Client()
    browser.force_login(user)

    # when they save a wallet address whose server answers a byte at a time
    started = time.monotonic()
    response = browser.post("/profile", {"is_provider": "on", "wallet_address": trickling_wallet})

    # then the page answers once the look-up's deadline passed (not after the minute the wallet would
    # take), says the wallet did not answer, and the profile is unchanged
    assert time.monotonic() - started < 10
    assert response.status_code == 200
    assert f"The wallet at {trickling_wallet} did not answer" in response.content.decode()
    profile = Profile.objects.get(user=user)
    assert (profile.wallet_address, profile.wallet_id, profile.asset_code) == ("", "", "")
