"""python -m payments: keygen, jwks, sign, verify, wallet."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from payments.__main__ import main
from payments.keys import load_private_key, public_jwk
from payments.signing import json_body

from .tls_server import CertificateAuthority, serve_https

REPO = Path(__file__).resolve().parents[2]


def _run(argv: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    status = main(argv, stdin=io.StringIO(stdin), stdout=out)
    return status, out.getvalue()


@pytest.fixture
def keydir(tmp_path: Path) -> Path:
    status, _ = _run(["keygen", "--out", str(tmp_path / "keys"), "--key-id", "k1"])
    assert status == 0
    return tmp_path / "keys"


def test_keygen_writes_a_private_pem_0600_and_its_jwks(keydir: Path) -> None:
    # given keygen ran (fixture) / when its files are read
    key = load_private_key(keydir / "private.pem")
    document = json.loads((keydir / "jwks.json").read_text())

    # then the PEM is owner-only and the JWKS publishes its public key
    assert stat.S_IMODE((keydir / "private.pem").stat().st_mode) == 0o600
    assert document == {"keys": [public_jwk(key, "k1")]}


def test_jwks_prints_the_public_jwks(keydir: Path) -> None:
    # given a key file / when jwks runs / then it prints the same JWKS keygen wrote
    status, out = _run(["jwks", "--key", str(keydir / "private.pem"), "--key-id", "k1"])
    assert (status, json.loads(out)) == (0, json.loads((keydir / "jwks.json").read_text()))


def test_sign_then_verify_round_trip_in_a_subprocess(keydir: Path) -> None:
    # given a request whose body is a JSON object with non-ASCII text
    request = {
        "method": "POST",
        "url": "https://rs.example/incoming-payments",
        "headers": {"Authorization": "GNAP T"},
        "body": {"walletAddress": "https://wallet.example/bob", "metadata": {"note": "Zoë"}},
    }
    python = [sys.executable, "-m", "payments"]

    # when it is signed and the output verified, as a user would from a shell
    signed = subprocess.run(
        [*python, "sign", "--key", str(keydir / "private.pem"), "--key-id", "k1", "--created", "1700000000"],
        input=json.dumps(request), capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    verified = subprocess.run(
        [*python, "verify", "--jwks", str(keydir / "jwks.json")],
        input=signed.stdout, capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip

    # then the body is the exact compact string sent, headers are added, and it verifies
    result = json.loads(signed.stdout)
    assert result["body"] == json_body(request["body"]).decode()
    assert sorted(result["headers"]) == [
        "Authorization", "Content-Digest", "Content-Length", "Content-Type", "Signature", "Signature-Input",
    ]  # fmt: skip
    assert result["headers"]["Signature-Input"].endswith(';keyid="k1";created=1700000000')
    assert (verified.returncode, verified.stdout) == (0, "valid: k1\n")


def test_sign_sends_a_string_body_as_is(keydir: Path) -> None:
    # given a body given as a string / when signed / then it is kept byte for byte
    request = {"method": "POST", "url": "https://auth.example", "headers": {}, "body": '{"a":1}'}
    status, out = _run(["sign", "--key", str(keydir / "private.pem"), "--key-id", "k1"], json.dumps(request))
    assert (status, json.loads(out)["body"], json.loads(out)["headers"]["Content-Length"]) == (
        0,
        '{"a":1}',
        "7",
    )


def test_verify_exits_1_with_the_reason(keydir: Path) -> None:
    # given a signed request whose body is then changed
    request = {"method": "POST", "url": "https://a.example/x", "headers": {}, "body": {"v": "1"}}
    _, out = _run(["sign", "--key", str(keydir / "private.pem"), "--key-id", "k1"], json.dumps(request))
    tampered = json.loads(out) | {"body": '{"v":"2"}'}

    # when verified / then exit 1 names the reason
    assert _run(["verify", "--jwks", str(keydir / "jwks.json")], json.dumps(tampered)) == (
        1,
        "invalid: content digest mismatch\n",
    )


def test_wallet_fetches_a_loopback_wallet_when_allowed(local_server: str) -> None:
    # given the loopback test server explicitly allowed / when wallet runs / then it prints the wallet
    status, out = _run(
        ["wallet", f"{local_server}/alice", "--allow-http-host", "127.0.0.1", "--allow-private"]
    )
    assert (status, json.loads(out)) == (
        0,
        {
            "id": f"{local_server}/alice",
            "publicName": "Alice",
            "assetCode": "EUR",
            "assetScale": 2,
            "authServer": f"{local_server}/auth/tenant",
            "resourceServer": f"{local_server}/rs/tenant",
        },
    )


def test_wallet_refuses_plain_http_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    # given no allowances / when an http wallet is asked for / then exit 2 with the refusal, nothing sent
    status, out = _run(["wallet", "http://10.0.0.1/alice"])
    assert (status, out) == (2, "")
    assert capsys.readouterr().err == (
        "error: refused http://10.0.0.1/alice: plain http is only allowed for configured hosts\n"
    )


def test_wallet_takes_a_private_host_with_its_port(local_server: str) -> None:
    # given the loopback server's host and port allowed for plain http and as private, nothing else
    host_port = local_server.removeprefix("http://")

    # when wallet runs / then it prints the wallet
    status, out = _run(
        ["wallet", f"{local_server}/alice", "--allow-http-host", host_port, "--allow-private-host", host_port]
    )
    assert (status, json.loads(out)["id"]) == (0, f"{local_server}/alice")


def test_wallet_refuses_a_private_host_listed_for_another_port(
    local_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given plain http allowed for the host, and private allowed on another port only
    args = ["--allow-http-host", "127.0.0.1", "--allow-private-host", "127.0.0.1:1"]

    # when wallet runs / then exit 2 with the refusal
    assert _run(["wallet", f"{local_server}/alice", *args]) == (2, "")
    assert capsys.readouterr().err == (
        "error: refused host '127.0.0.1': it resolves to a loopback address 127.0.0.1\n"
    )


def test_wallet_trusts_the_ca_bundle_given(tmp_path: Path) -> None:
    # given a TLS wallet whose certificate comes from a private CA, and that CA's file
    ca = CertificateAuthority()
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    with serve_https(ca.issue(["127.0.0.1"]), tmp_path) as origin:
        # when wallet runs with --ca-bundle / then it prints the wallet
        status, out = _run(
            [
                "wallet",
                f"{origin}/alice",
                "--allow-private-host",
                "127.0.0.1",
                "--ca-bundle",
                str(tmp_path / "ca.pem"),
            ]
        )
    assert (status, json.loads(out)["id"]) == (0, f"{origin}/alice")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--ca-bundle", "/nonexistent/ca.pem"],
            "CA bundle '/nonexistent/ca.pem' cannot be used: no such file",
        ),
        (["--allow-private-host", "wallet:x"], "private_hosts entry 'wallet:x' is not a host or host:port"),
    ],
)
def test_wallet_names_an_unusable_setting(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an option the client cannot use / when wallet runs / then exit 2 names it, nothing sent
    assert _run(["wallet", "https://wallet.example/alice", *args]) == (2, "")
    assert capsys.readouterr().err == f"error: {message}\n"
