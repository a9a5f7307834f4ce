"""TLS trust and transport errors against real local servers: a private CA, certificate and host name
failures, TLS to a plain-http port, refused and dropped connections, DNS failures."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from payments import (
    ClientConfig,
    HostNotFound,
    OpenPaymentsClient,
    TLSError,
    TransportError,
    UnsafeURLError,
    URLPolicy,
)
from payments.safe_http import ssl_context
from payments.transport import GuardedTransport, build_http_client

from .tls_server import CertificateAuthority, closed_port, hang_up_server, serve_https


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority()


@pytest.fixture
def ca_file(ca: CertificateAuthority, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_bytes(ca.pem)
    return path


@pytest.fixture
def https_origin(ca: CertificateAuthority, tmp_path: Path) -> Iterator[str]:
    """A wallet served over TLS with a certificate for localhost and 127.0.0.1 from the throwaway CA."""
    with serve_https(ca.issue(["localhost", "127.0.0.1"]), tmp_path) as origin:
        yield origin


def _client(key: Ed25519PrivateKey, **options: Any) -> OpenPaymentsClient:
    options.setdefault("private_hosts", frozenset({"127.0.0.1"}))
    return OpenPaymentsClient(
        ClientConfig(
            wallet_address_url="https://platform.example/me", key_id="k1", private_key=key, **options
        )
    )


def _failure(key: Ed25519PrivateKey, url: str, **options: Any) -> TransportError:
    with _client(key, **options) as client, pytest.raises(TransportError) as caught:
        client.wallet_addresses.get(url)
    return caught.value


def test_trusts_a_private_ca_given_as_ca_bundle(
    client_key: Ed25519PrivateKey, https_origin: str, ca_file: Path
) -> None:
    # given a wallet whose certificate comes from a private CA, and that CA as the client's bundle
    with _client(client_key, ca_bundle=str(ca_file)) as client:
        # when the wallet is fetched
        wallet = client.wallet_addresses.get(f"{https_origin}/alice")

    # then TLS verifies and the wallet parses
    assert (wallet.id, wallet.public_name) == (f"{https_origin}/alice", "Alice")


def test_an_unknown_ca_is_a_terminal_certificate_error(
    client_key: Ed25519PrivateKey, https_origin: str
) -> None:
    # given no CA bundle: the private CA is unknown / when the wallet is fetched
    error = _failure(client_key, f"{https_origin}/alice")

    # then a TLSError says the certificate is not trusted, with OpenSSL's reason, and is not retried
    assert type(error) is TLSError
    assert (error.reason, error.retryable) == ("certificate", False)
    assert str(error) == (
        "TLS certificate not trusted: certificate verify failed: unable to get local issuer certificate "
        f"(GET {https_origin}/alice)"
    )


def test_an_expired_certificate_is_a_certificate_error(
    client_key: Ed25519PrivateKey, ca: CertificateAuthority, ca_file: Path, tmp_path: Path
) -> None:
    # given a server whose certificate from the trusted CA has expired
    with serve_https(ca.issue(["127.0.0.1"], expired=True), tmp_path) as origin:
        # when the wallet is fetched
        error = _failure(client_key, f"{origin}/alice", ca_bundle=str(ca_file))

    # then OpenSSL's words say so
    assert (type(error), error.reason, str(error)) == (
        TLSError,
        "certificate",
        "TLS certificate not trusted: certificate verify failed: certificate has expired "
        f"(GET {origin}/alice)",
    )


def test_a_certificate_for_another_address_is_a_hostname_error(
    client_key: Ed25519PrivateKey, ca: CertificateAuthority, ca_file: Path, tmp_path: Path
) -> None:
    # given a trusted certificate valid only for wallet.example, served on 127.0.0.1
    with serve_https(ca.issue(["wallet.example"]), tmp_path) as origin:
        # when the wallet is fetched by address
        error = _failure(client_key, f"{origin}/alice", ca_bundle=str(ca_file))

    # then the mismatch is named, and it is not retried
    assert (type(error), error.reason, error.retryable) == (TLSError, "hostname", False)
    assert str(error) == (
        "TLS certificate does not match the host: IP address mismatch, certificate is not valid for "
        f"'127.0.0.1' (GET {origin}/alice)"
    )


def test_a_certificate_for_another_name_is_a_hostname_error(
    client_key: Ed25519PrivateKey, ca: CertificateAuthority, ca_file: Path, tmp_path: Path
) -> None:
    # given a trusted certificate for wallet.example, and wallet.test resolving to the server
    with serve_https(ca.issue(["wallet.example"]), tmp_path) as origin:
        port = httpx.URL(origin).port
        # when wallet.test is fetched
        error = _failure(
            client_key,
            f"https://wallet.test:{port}/alice",
            ca_bundle=str(ca_file),
            private_hosts=frozenset({"wallet.test"}),
            resolver=lambda host, port: ["127.0.0.1"],
        )

    # then the certificate was checked against the URL's name, not the address connected to
    assert (type(error), error.reason) == (TLSError, "hostname")
    assert str(error) == (
        "TLS certificate does not match the host: Hostname mismatch, certificate is not valid for "
        f"'wallet.test' (GET https://wallet.test:{port}/alice)"
    )


def test_tls_to_a_plain_http_port_is_a_tls_error(client_key: Ed25519PrivateKey, local_server: str) -> None:
    # given a plain-http server / when it is asked for over https
    origin = local_server.replace("http://", "https://")
    error = _failure(client_key, f"{origin}/alice")

    # then the handshake failure is named, and not retried
    assert (type(error), error.reason, error.retryable) == (TLSError, "tls", False)
    assert str(error) == (
        f"TLS handshake failed: [SSL: WRONG_VERSION_NUMBER] wrong version number (GET {origin}/alice)"
    )


def test_ssl_cert_file_is_honoured(
    client_key: Ed25519PrivateKey, https_origin: str, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given SSL_CERT_FILE naming the private CA, and no ca_bundle
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))

    # when the wallet is fetched / then TLS verifies
    with _client(client_key) as client:
        assert client.wallet_addresses.get(f"{https_origin}/alice").id == f"{https_origin}/alice"


def test_ssl_cert_file_is_honoured_in_a_fresh_process(https_origin: str, ca_file: Path) -> None:
    # given a new process whose SSL_CERT_FILE names the private CA
    code = (
        "import httpx, sys\n"
        "from payments.safe_http import URLPolicy\nfrom payments.transport import build_http_client\n"
        "policy = URLPolicy(private_hosts=frozenset({'127.0.0.1'}))\n"
        "with build_http_client(policy, timeout=5.0) as http:\n"
        "    print(http.get(sys.argv[1]).status_code)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(ca_file)}

    # when it fetches the wallet through the guarded client
    run = subprocess.run(
        [sys.executable, "-c", code, f"{https_origin}/alice"],
        capture_output=True, text=True, env=env, cwd=Path(__file__).parents[2], timeout=60, check=False,
    )  # fmt: skip

    # then TLS verified
    assert (run.returncode, run.stdout, run.stderr) == (0, "200\n", "")


def test_certifi_bundle_is_trusted(
    client_key: Ed25519PrivateKey, https_origin: str, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given certifi's bundle standing for the private CA
    monkeypatch.setattr(certifi, "where", lambda: str(ca_file))

    # when the wallet is fetched / then TLS verifies
    with _client(client_key) as client:
        assert client.wallet_addresses.get(f"{https_origin}/alice").id == f"{https_origin}/alice"


def test_a_hashed_directory_is_a_ca_bundle(
    client_key: Ed25519PrivateKey, https_origin: str, ca_file: Path, tmp_path: Path
) -> None:
    # given a directory holding the CA under its subject-hash name, as `openssl rehash` makes it
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command names the hashed file")
    directory = tmp_path / "cas"
    directory.mkdir()
    shutil.copy(ca_file, directory / "ca.pem")
    subprocess.run(["openssl", "rehash", str(directory)], check=True, capture_output=True)

    # when it is the ca_bundle / then TLS verifies
    with _client(client_key, ca_bundle=str(directory)) as client:
        assert client.wallet_addresses.get(f"{https_origin}/alice").id == f"{https_origin}/alice"


def test_the_context_verifies_certificates_and_host_names(ca_file: Path) -> None:
    # given the context with a CA bundle / when inspected / then verification is on
    context = ssl_context(str(ca_file))
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


def test_a_missing_ca_bundle_fails_when_the_config_is_made(
    client_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    # given a CA bundle path that does not exist
    missing = tmp_path / "missing.pem"

    # when a config, a context, a transport and a client are made with it / then each names the path
    message = f"CA bundle '{missing}' cannot be used: no such file"
    with pytest.raises(ValueError) as caught:
        ClientConfig(
            wallet_address_url="https://p.example/me",
            key_id="k1",
            private_key=client_key,
            ca_bundle=str(missing),
        )
    assert str(caught.value) == message
    for make in (
        lambda: ssl_context(str(missing)),
        lambda: GuardedTransport(URLPolicy(), ca_bundle=str(missing)),
        lambda: build_http_client(URLPolicy(), timeout=1.0, ca_bundle=str(missing)),
    ):
        with pytest.raises(ValueError) as caught:
            make()
        assert str(caught.value) == message


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (
            b"not a certificate",
            "no PEM certificate could be read from it "
            "([X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found)",
        ),
        (
            b"",
            "no PEM certificate could be read from it "
            "([X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found)",
        ),
        (None, "the directory has no hashed certificate names (run `openssl rehash` on it)"),
    ],
)
def test_an_unusable_ca_bundle_is_named_with_why(tmp_path: Path, content: bytes | None, why: str) -> None:
    # given a file that holds no certificate, or a directory without hashed names
    path = tmp_path / "bundle"
    if content is None:
        path.mkdir()
        (path / "ca.pem").write_text("x")
    else:
        path.write_bytes(content)

    # when a context is made with it / then the error names the path and why
    with pytest.raises(ValueError) as caught:
        ssl_context(str(path))
    assert str(caught.value) == f"CA bundle '{path}' cannot be used: {why}"


def test_a_closed_port_is_a_retryable_refusal(client_key: Ed25519PrivateKey) -> None:
    # given a port nothing listens on / when fetched
    port = closed_port()
    error = _failure(client_key, f"https://127.0.0.1:{port}/alice")

    # then it is a plain, retryable TransportError saying the connection was refused
    assert (type(error), error.reason, error.retryable) == (TransportError, "refused", True)
    assert str(error) == f"connection refused (GET https://127.0.0.1:{port}/alice)"


def test_a_server_hanging_up_is_a_retryable_connection_error(client_key: Ed25519PrivateKey) -> None:
    # given a server that closes every connection without answering
    with hang_up_server() as origin:
        # when the wallet is fetched over plain http
        error = _failure(client_key, f"{origin}/alice", allowed_http_hosts=frozenset({"127.0.0.1"}))

    # then it is a retryable connection failure
    assert (type(error), error.reason, error.retryable) == (TransportError, "connection", True)
    assert str(error) == f"connection failed (RemoteProtocolError) (GET {origin}/alice)"


def _getaddrinfo_failing(code: int, words: str) -> Any:
    def getaddrinfo(*args: object, **kwargs: object) -> list[Any]:
        raise socket.gaierror(code, words)

    return getaddrinfo


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (socket.EAI_NONAME, "Name or service not known"),
        (socket.EAI_NODATA, "No address associated with hostname"),
    ],
)
def test_a_name_that_does_not_exist_is_host_not_found(
    client_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch, code: int, words: str
) -> None:
    # given the system resolver answering that the name does not exist
    monkeypatch.setattr(socket, "getaddrinfo", _getaddrinfo_failing(code, words))

    # when the wallet is fetched
    error = _failure(client_key, "https://nowhere.example/alice?token=SECRET")

    # then HostNotFound names the host and the request, and is not retried
    assert (type(error), error.reason, error.retryable) == (HostNotFound, "dns", False)
    assert str(error) == "host not found: 'nowhere.example' (GET https://nowhere.example/alice)"


def test_a_temporary_dns_failure_is_retryable(
    client_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the system resolver failing for now
    monkeypatch.setattr(
        socket, "getaddrinfo", _getaddrinfo_failing(socket.EAI_AGAIN, "Temporary failure in name resolution")
    )

    # when the wallet is fetched
    error = _failure(client_key, "https://nowhere.example/alice")

    # then it is a retryable TransportError with reason dns
    assert (type(error), error.reason, error.retryable) == (TransportError, "dns", True)
    assert str(error) == (
        "host lookup failed for 'nowhere.example': Temporary failure in name resolution "
        "(GET https://nowhere.example/alice)"
    )


def test_a_dns_failure_at_connect_time_names_the_request(client_key: Ed25519PrivateKey) -> None:
    # given a name that resolves for the check before the request, then no longer exists
    answers: list[list[str] | Exception] = [["127.0.0.1"], HostNotFound("host not found: 'gone.test'")]

    def resolver(host: str, port: int) -> list[str]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    # when the wallet is fetched
    error = _failure(
        client_key, "https://gone.test:8443/alice", private_hosts=frozenset({"gone.test"}), resolver=resolver
    )

    # then the connect-time failure carries the method and the URL
    assert (type(error), answers) == (HostNotFound, [])
    assert str(error) == "host not found: 'gone.test' (GET https://gone.test:8443/alice)"


def test_a_dns_failure_inside_a_supplied_http_client_is_host_not_found(
    client_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a supplied, unguarded http client, a public answer for the pre-request check, and then a
    # system resolver that does not know the name when httpx connects
    monkeypatch.setattr(
        socket, "getaddrinfo", _getaddrinfo_failing(socket.EAI_NONAME, "Name or service not known")
    )
    with (
        _client(
            client_key, http_client=httpx.Client(), resolver=lambda host, port: ["93.184.215.14"]
        ) as client,
        pytest.raises(TransportError) as caught,
    ):
        # when the wallet is fetched
        client.wallet_addresses.get("https://nowhere.example/alice")

    # then the cause inside httpx's error is found
    assert (type(caught.value), str(caught.value)) == (
        HostNotFound,
        "host not found: 'nowhere.example' (GET https://nowhere.example/alice)",
    )


def test_refusals_stay_unsafe_url_errors_not_transport_errors(client_key: Ed25519PrivateKey) -> None:
    # given a private CA server's address not listed as private / when fetched / then it is a refusal
    with _client(client_key, private_hosts=frozenset()) as client, pytest.raises(UnsafeURLError) as caught:
        client.wallet_addresses.get("https://127.0.0.1:8443/alice")
    assert not isinstance(caught.value, TransportError)
    assert str(caught.value) == "refused host '127.0.0.1': it resolves to a loopback address 127.0.0.1"
