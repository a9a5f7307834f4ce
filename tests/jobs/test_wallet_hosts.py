"""Which wallets the marketplace reaches: https on a private address when the host is listed as private
(`OP_PRIVATE_HOSTS`), plain http only to hosts listed for it (`OP_HTTP_HOSTS`), and certificates from the
operator's CA (`OP_CA_BUNDLE`); every refusal in words a person can act on."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from jobs.wallets import WalletAddressRefused, wallet_address_resolve
from marketplace.open_payments import open_payments_client
from payments import generate_private_key, private_key_pem
from testwallet.testing import RunningWallet, running_wallet

SEED = {"wallets": [{"name": "alice", "publicName": "Alice", "assetCode": "USD", "assetScale": 2}]}


@pytest.fixture(scope="module")
def https_wallet() -> Iterator[RunningWallet]:
    with running_wallet(SEED, in_thread=True, tls=True) as wallet:
        yield wallet


@pytest.fixture(scope="module")
def http_wallet() -> Iterator[RunningWallet]:
    with running_wallet(SEED, in_thread=True) as wallet:
        yield wallet


def configure(settings: Any, **values: object) -> None:
    """The marketplace's Open Payments settings with `values` (host lists, CA bundle) changed."""
    settings.OPEN_PAYMENTS = {
        **settings.OPEN_PAYMENTS,
        "CLIENT_WALLET_ADDRESS": "https://marketplace.example/me",
        "KEY_ID": "k1",
        "PRIVATE_KEY": base64.b64encode(private_key_pem(generate_private_key())).decode(),
        **values,
    }
    open_payments_client.cache_clear()


@pytest.fixture(autouse=True)
def fresh_client() -> Iterator[None]:
    open_payments_client.cache_clear()
    yield
    open_payments_client.cache_clear()


def test_an_https_wallet_on_a_private_address_is_reached_while_plain_http_to_it_is_refused(
    settings: Any, https_wallet: RunningWallet, http_wallet: RunningWallet
) -> None:
    # given 127.0.0.1 allowed as a private host only, and the https wallet's CA trusted
    configure(settings, PRIVATE_HOSTS=["127.0.0.1"], HTTP_HOSTS=[], CA_BUNDLE=str(https_wallet.ca_file))

    # when a person gives each wallet's address
    wallet = wallet_address_resolve(https_wallet.wallet_url("alice"))
    with pytest.raises(WalletAddressRefused) as refused:
        wallet_address_resolve(http_wallet.wallet_url("alice"))

    # then the https one resolves, and plain http is refused before any connection
    assert (wallet.id, wallet.asset_code) == (https_wallet.wallet_url("alice"), "USD")
    assert str(refused.value) == (
        f"{http_wallet.wallet_url('alice')} cannot be used as a wallet address: refused "
        f"{http_wallet.wallet_url('alice')}: plain http is only allowed for configured hosts"
    )


def test_a_host_allowed_for_plain_http_is_not_thereby_allowed_on_a_private_address(
    settings: Any, http_wallet: RunningWallet
) -> None:
    # given 127.0.0.1 allowed over plain http, but not as a private host
    configure(settings, PRIVATE_HOSTS=[], HTTP_HOSTS=["127.0.0.1"])

    # when a person gives the plain-http wallet on the loopback address
    with pytest.raises(WalletAddressRefused) as refused:
        wallet_address_resolve(http_wallet.wallet_url("alice"))

    # then it is refused for its address
    assert str(refused.value).endswith("it resolves to a loopback address 127.0.0.1")


def test_a_private_host_is_allowed_on_its_listed_port_only(
    settings: Any, https_wallet: RunningWallet, http_wallet: RunningWallet
) -> None:
    # given 127.0.0.1 allowed as a private host on the https wallet's port only
    port = int(https_wallet.wallet_url("alice").split(":")[2].split("/")[0])
    configure(
        settings, PRIVATE_HOSTS=[f"127.0.0.1:{port}"], HTTP_HOSTS=[], CA_BUNDLE=str(https_wallet.ca_file)
    )
    other = https_wallet.wallet_url("alice").replace(f":{port}/", f":{port + 1}/")

    # when / then the listed port resolves and another port on the same host is refused
    assert wallet_address_resolve(https_wallet.wallet_url("alice")).asset_code == "USD"
    with pytest.raises(WalletAddressRefused) as refused:
        wallet_address_resolve(other)
    assert str(refused.value).endswith("it resolves to a loopback address 127.0.0.1")


def test_an_untrusted_certificate_is_named_to_the_person(settings: Any, https_wallet: RunningWallet) -> None:
    # given the private host allowed but the wallet's CA not trusted
    configure(settings, PRIVATE_HOSTS=["127.0.0.1"], HTTP_HOSTS=[], CA_BUNDLE="")

    # when a person gives the https wallet's address
    with pytest.raises(WalletAddressRefused) as refused:
        wallet_address_resolve(https_wallet.wallet_url("alice"))

    # then they read what is wrong, not that the wallet did not answer
    assert str(refused.value) == (
        "The wallet at 127.0.0.1 uses a certificate this marketplace does not trust, so we did not connect."
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"PRIVATE_HOSTS": ["rafiki.internal:https"]},
            "Open Payments is not configured: OP_PRIVATE_HOSTS entry 'rafiki.internal:https' is not a host "
            "or host:port.",
        ),
        (
            {"HTTP_HOSTS": ["[::1"]},
            "Open Payments is not configured: OP_HTTP_HOSTS entry '[::1' is not a host or host:port.",
        ),
    ],
)
def test_a_host_list_entry_that_is_not_a_host_stops_the_client_naming_the_variable(
    settings: Any, values: dict[str, object], message: str
) -> None:
    # given a malformed entry
    configure(settings, **values)

    # when / then
    with pytest.raises(ImproperlyConfigured) as refused:
        open_payments_client()
    assert str(refused.value) == message


def test_a_ca_bundle_that_cannot_be_read_stops_the_client_naming_it(settings: Any, tmp_path: Path) -> None:
    # given a CA bundle path that does not exist
    missing = tmp_path / "ca.pem"
    configure(settings, CA_BUNDLE=str(missing))

    # when / then
    with pytest.raises(ImproperlyConfigured) as refused:
        open_payments_client()
    assert str(refused.value) == (
        f"Open Payments is not configured: CA bundle '{missing}' cannot be used: no such file."
    )
