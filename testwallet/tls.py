"""Serving https with a local certificate authority: ``python -m testwallet --tls [--tls-dir DIR]``.

The TLS directory holds ``ca.pem`` (the CA certificate clients trust), ``ca-key.pem``, ``server.pem``
(server certificate followed by the CA certificate) and ``server-key.pem``. A directory that already has
``ca.pem`` and ``ca-key.pem`` keeps its CA and only gets a fresh server certificate, so a restarted wallet
is still trusted by clients configured with that ``ca.pem``, and sibling wallets started with the same
directory trust each other.

``new_ca`` and ``server_certificate`` build the same certificates in memory, for tests that need their own.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import ssl
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "testwallet local CA"
CA_LIFETIME = datetime.timedelta(days=365)
SERVER_LIFETIME = datetime.timedelta(days=30)
# Clocks of clients on the same machine may lag a little; a certificate valid "from now" would fail there.
BACKDATE = datetime.timedelta(minutes=5)
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    """Where the certificates of one ``--tls`` start are (absolute paths)."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def in_directory(cls, directory: Path) -> TlsFiles:
        directory = directory.resolve()
        return cls(
            directory=directory,
            ca_cert=directory / "ca.pem",
            ca_key=directory / "ca-key.pem",
            server_cert=directory / "server.pem",
            server_key=directory / "server-key.pem",
        )


def server_names(host: str, public_url: str | None = None) -> list[str]:
    """The names the server certificate covers: the bind host, the loopback names and the public host."""
    names = [host, *DEFAULT_NAMES]
    if public_url:
        public_host = urlsplit(public_url).hostname
        if public_host:
            names.append(public_host)
    unique: list[str] = []
    for name in names:
        if not name or name in unique:
            continue
        address = _ip(name)
        if address is not None and address.is_unspecified:
            continue  # 0.0.0.0 / :: bind every interface but name none of them
        unique.append(name)
    return unique


@contextmanager
def issued(directory: Path, names: Iterable[str]) -> Iterator[TlsFiles]:
    """Make sure ``directory`` has a CA (kept if present) and issue a fresh server certificate for
    ``names`` signed by it; ValueError when the CA found there cannot be used. The directory stays
    locked until the ``with`` block ends: load the server certificate and key inside it."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles.in_directory(directory)
    with _locked(files.directory):
        now = datetime.datetime.now(datetime.UTC)
        if files.ca_cert.exists() and files.ca_key.exists():
            ca_cert, ca_key = _load_ca(files, now)
        else:
            ca_cert, ca_key = new_ca()
            _write(files.ca_key, key_pem(ca_key), private=True)
            _write(files.ca_cert, certificate_pem(ca_cert))
        server_cert, server_key = server_certificate(list(names), ca_cert, ca_key)
        _write(files.server_key, key_pem(server_key), private=True)
        _write(files.server_cert, certificate_pem(server_cert) + certificate_pem(ca_cert))
        yield files


def client_context(ca_file: Path | str) -> ssl.SSLContext:
    """An SSL context for clients that trusts the usual public roots plus the CA in ``ca_file``."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_verify_locations(cafile=str(ca_file))
    return context


def new_ca(common_name: str = CA_NAME) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A new self-signed CA certificate named ``common_name`` (valid from now for CA_LIFETIME) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def server_certificate(
    names: Sequence[str],
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A server certificate for ``names`` (DNS names or IP addresses) signed by the CA, and its fresh key.
    Valid by default from now for SERVER_LIFETIME, but not beyond the CA; ``not_before`` and
    ``not_after`` set another window (one already over, for instance)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    if not_before is None:
        not_before = now - BACKDATE
    if not_after is None:
        not_after = min(now + SERVER_LIFETIME, ca_cert.not_valid_after_utc)
    alt_names: list[x509.GeneralName] = []
    for name in names:
        address = _ip(name)
        alt_names.append(x509.IPAddress(address) if address is not None else x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0] if names else "testwallet"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def certificate_pem(cert: x509.Certificate) -> bytes:
    """``cert`` PEM-encoded."""
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    # Sibling wallets may start at once with one directory: one CA must come out, and no server may load
    # the certificate of one start with the key of another. flock: released if the process dies.
    fd = os.open(directory / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    # A CA key only signs certificates and CRLs; a server key only signs its TLS handshakes.
    return x509.KeyUsage(
        digital_signature=not signs_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    mode = 0o600 if private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # an existing file keeps its old mode otherwise
        os.write(fd, data)
    finally:
        os.close(fd)


def _load_ca(files: TlsFiles, now: datetime.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    except ValueError as exc:
        raise ValueError(f"{files.directory}: ca.pem / ca-key.pem are not a PEM certificate and key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise ValueError(f"{files.directory}: ca-key.pem is not the key of ca.pem")
    if cert.not_valid_after_utc <= now + datetime.timedelta(days=1):
        raise ValueError(
            f"{files.directory}: the CA in ca.pem expires on {cert.not_valid_after_utc:%Y-%m-%d};"
            " delete ca.pem and ca-key.pem to make a new one (and give clients the new ca.pem)"
        )
    return cert, key
