"""``--tls``: https with a local CA, reuse of that CA, and signed requests between https wallets."""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from payments.signing import SignatureAuth, json_body
from testwallet.testing import ClientIdentity, RunningWallet, WalletStartError, running_wallet

SEED = {
    "wallets": [
        {"name": "alice", "publicName": "Alice", "assetCode": "USD", "assetScale": 2, "balance": "100000"},
    ]
}
HTTPS_BASE = re.compile(r"https://127\.0\.0\.1:\d+\Z")


def trusting(ca_file: Path) -> ssl.SSLContext:
    """A client context that trusts ``ca_file`` and nothing else."""
    return ssl.create_default_context(cafile=str(ca_file))


def served_certificate(base_url: str, ca_file: Path) -> x509.Certificate:
    """The leaf certificate the server at ``base_url`` presents, after a verified handshake."""
    address = urlsplit(base_url)
    assert address.hostname is not None and address.port is not None
    with (
        socket.create_connection((address.hostname, address.port), timeout=5) as raw,
        trusting(ca_file).wrap_socket(raw, server_hostname=address.hostname) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def causes(error: BaseException) -> list[BaseException]:
    """``error`` and every exception it was raised from or during."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def grant_request(wallet: RunningWallet, client: ClientIdentity, verify: ssl.SSLContext) -> httpx.Response:
    """A signed, non-interactive incoming-payment grant request for alice on ``wallet``."""
    with httpx.Client(auth=SignatureAuth(client.private_key, client.key_id), verify=verify) as http:
        return http.post(
            wallet.auth_server,
            content=json_body(
                {
                    "access_token": {"access": [{"type": "incoming-payment", "actions": ["create", "read"]}]},
                    "client": client.url,
                }
            ),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )


@pytest.mark.parametrize("in_thread", [False, True], ids=["subprocess", "thread"])
def test_wallet_is_served_over_https_to_clients_trusting_its_ca(in_thread: bool) -> None:
    # given a wallet started with tls=True
    with running_wallet(SEED, in_thread=in_thread, tls=True) as wallet:
        # when a client that trusts the wallet's CA certificate reads alice's wallet address
        assert wallet.ca_file is not None
        response = httpx.get(wallet.wallet_url("alice"), verify=trusting(wallet.ca_file))

        # then it is served over https and every URL in it is the https one
        assert HTTPS_BASE.match(wallet.base_url)
        assert response.status_code == 200
        document = response.json()
        assert document["id"] == f"{wallet.base_url}/alice"
        assert document["id"].startswith("https://127.0.0.1:")
        assert (document["authServer"], document["resourceServer"]) == (
            f"{wallet.base_url}/auth/{wallet.tenant}",
            f"{wallet.base_url}/op/{wallet.tenant}",
        )
        # and the admin helpers reach it over https too
        assert wallet.balance("alice") == 100_000
        assert wallet.ca_file.name == "ca.pem" and wallet.ca_file.is_absolute()


def test_client_without_the_ca_is_refused_by_certificate_verification() -> None:
    # given a wallet started with tls=True
    with running_wallet(SEED, tls=True) as wallet:
        # when a client with only the public roots connects
        with pytest.raises(httpx.ConnectError) as raised:
            httpx.get(wallet.wallet_url("alice"))

        # then certificate verification failed: the server sent a chain ending in a CA nobody trusts
        failures = [
            error for error in causes(raised.value) if isinstance(error, ssl.SSLCertVerificationError)
        ]
        assert len(failures) == 1
        assert (failures[0].reason, failures[0].verify_code) == ("CERTIFICATE_VERIFY_FAILED", 19)


def test_served_certificate_chains_to_the_ca_and_covers_the_loopback_names() -> None:
    # given a wallet started with tls=True
    with running_wallet(SEED, tls=True) as wallet:
        assert wallet.ca_file is not None
        ca_pem = wallet.ca_file.read_bytes()
        ca = x509.load_pem_x509_certificate(ca_pem)

        # when its certificate is read from a verified handshake on 127.0.0.1
        leaf = served_certificate(wallet.base_url, wallet.ca_file)

        # then the CA file holds exactly the CA certificate, a CA that may sign certificates
        assert ca_pem.count(b"-----BEGIN CERTIFICATE-----") == 1
        assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "testwallet local CA"
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
        usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
        assert (usage.key_cert_sign, usage.crl_sign) == (True, True)
        # and the leaf is issued by it, for server authentication, naming the loopback host and addresses
        leaf.verify_directly_issued_by(ca)
        assert leaf.issuer == ca.subject
        assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.DNSName) == ["localhost"]
        assert names.get_values_for_type(x509.IPAddress) == [
            ipaddress.ip_address("127.0.0.1"),
            ipaddress.ip_address("::1"),
        ]
        # and a client verifying the name "localhost" accepts it as well
        port = urlsplit(wallet.base_url).port
        health = httpx.get(f"https://localhost:{port}/_health", verify=trusting(wallet.ca_file))
        assert (health.status_code, health.text) == (200, "ok")


def test_restart_with_the_same_tls_dir_keeps_the_ca(tmp_path: Path) -> None:
    # given a wallet that made its CA in a TLS directory of ours
    with running_wallet(SEED, tls=True, tls_dir=tmp_path) as first:
        assert first.ca_file == tmp_path.resolve() / "ca.pem"
        ca_pem = first.ca_file.read_bytes()
        first_leaf = served_certificate(first.base_url, first.ca_file)
    kept = tmp_path / "ca-copy.pem"
    kept.write_bytes(ca_pem)

    # when a new wallet process starts with the same directory
    with running_wallet(SEED, tls=True, tls_dir=tmp_path) as again:
        # then the CA certificate is byte for byte the same and a client configured before still trusts
        # the new server certificate, which is a fresh one
        assert again.ca_file == tmp_path.resolve() / "ca.pem"
        assert again.ca_file.read_bytes() == ca_pem
        second_leaf = served_certificate(again.base_url, kept)
        assert second_leaf.serial_number != first_leaf.serial_number
        response = httpx.get(again.wallet_url("alice"), verify=trusting(kept))
        assert response.json()["id"] == f"{again.base_url}/alice"
    # and the files are where the README says, private keys readable by their owner only
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".lock", "ca-copy.pem", "ca-key.pem", "ca.pem", "server-key.pem", "server.pem",
    ]  # fmt: skip
    modes = {name: (tmp_path / name).stat().st_mode & 0o777 for name in ("ca-key.pem", "server-key.pem")}
    assert modes == {"ca-key.pem": 0o600, "server-key.pem": 0o600}
    chain = (tmp_path / "server.pem").read_bytes()
    assert chain.count(b"-----BEGIN CERTIFICATE-----") == 2 and chain.endswith(ca_pem)


def test_grant_request_signed_by_a_client_on_the_same_https_wallet() -> None:
    # given a client hosted on an https wallet
    with running_wallet(SEED, tls=True) as wallet:
        assert wallet.ca_file is not None
        client = wallet.create_client("platform", public_name="Job Board")

        # when it asks that wallet's auth server for a grant, signing the https target URI
        response = grant_request(wallet, client, trusting(wallet.ca_file))

        # then the grant is issued with https management URLs
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        assert token["access"] == [{"type": "incoming-payment", "actions": ["create", "read"]}]
        assert token["manage"].startswith(f"{wallet.base_url}/auth/token/")


def test_grant_request_from_a_client_on_a_sibling_https_wallet_fetches_its_jwks(tmp_path: Path) -> None:
    # given two https wallets sharing one TLS directory (one CA), and a client hosted on the second
    with (
        running_wallet(SEED, tls=True, tls_dir=tmp_path) as wallet,
        running_wallet(None, tls=True, tls_dir=tmp_path, jwks_cache=0) as sibling,
    ):
        assert wallet.ca_file == sibling.ca_file and wallet.ca_file is not None
        client = sibling.create_client("platform", public_name="Job Board")
        sibling.stats(reset=True)

        # when the client asks the first wallet for a grant
        response = grant_request(wallet, client, trusting(wallet.ca_file))

        # then the first wallet fetched the client's keys from the sibling over https and issued the grant
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["access_token"]["access"] == [{"type": "incoming-payment", "actions": ["create", "read"]}]
        assert client.url.startswith("https://127.0.0.1:")
        assert sibling.stats()["routes"] == {"wallet.jwks": 1}


def test_tls_dir_without_tls_is_refused(tmp_path: Path) -> None:
    # when a wallet is started with a TLS directory but without --tls / then it exits saying so
    with pytest.raises(WalletStartError, match="--tls-dir needs --tls"), running_wallet(tls_dir=tmp_path):
        pass


def test_wallet_without_tls_has_no_ca_file() -> None:
    # given a wallet started as before, without tls
    with running_wallet(SEED, in_thread=True) as wallet:
        # then it is served over http and its helpers carry no CA
        assert wallet.base_url.startswith("http://127.0.0.1:")
        assert (wallet.ca_file, wallet.verify) == (None, True)
        assert httpx.get(wallet.wallet_url("alice")).json()["id"] == f"{wallet.base_url}/alice"
