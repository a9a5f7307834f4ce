"""Command line: ``python -m payments keygen|jwks|sign|verify|wallet`` (see ``--help``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .client import ClientConfig, OpenPaymentsClient
from .exceptions import OpenPaymentsError, SignatureError
from .keys import generate_private_key, jwks, load_private_key, private_key_pem, public_jwk
from .signing import json_body, sign_headers, verify_request

__all__ = ["main"]


def _read_request(stdin: TextIO) -> tuple[str, str, dict[str, str], bytes]:
    try:
        data = json.loads(stdin.read())
    except ValueError:
        raise SystemExit("stdin must be a JSON object {method, url, headers, body}") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("method"), str)
        or not isinstance(data.get("url"), str)
    ):
        raise SystemExit("stdin must be a JSON object with string 'method' and 'url'")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise SystemExit("'headers' must be an object of strings")
    body = data.get("body")
    raw = b"" if body is None else body.encode() if isinstance(body, str) else json_body(body)
    return data["method"], data["url"], headers, raw


def _keygen(args: argparse.Namespace, out: TextIO) -> int:
    directory = Path(args.out)
    directory.mkdir(parents=True, exist_ok=True)
    key = generate_private_key()
    pem_path = directory / "private.pem"
    # Create with 0600 from the start so the key is never readable by others, even briefly.
    fd = os.open(pem_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_key_pem(key))
    os.chmod(pem_path, 0o600)
    (directory / "jwks.json").write_text(json.dumps(jwks(public_jwk(key, args.key_id)), indent=2) + "\n")
    out.write(f"wrote {pem_path} and {directory / 'jwks.json'}\n")
    return 0


def _jwks(args: argparse.Namespace, out: TextIO) -> int:
    out.write(json.dumps(jwks(public_jwk(load_private_key(Path(args.key)), args.key_id))) + "\n")
    return 0


def _sign(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    method, url, headers, body = _read_request(stdin)
    added = sign_headers(
        method=method,
        url=url,
        headers=headers,
        body=body,
        private_key=load_private_key(Path(args.key)),
        key_id=args.key_id,
        created=args.created,
    )
    result: dict[str, Any] = {
        "method": method,
        "url": url,
        "headers": headers | added,
        "body": body.decode() if body else None,
    }
    out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


def _verify(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    method, url, headers, body = _read_request(stdin)
    document = json.loads(Path(args.jwks).read_text())
    try:
        key_id = verify_request(method=method, url=url, headers=headers, body=body, jwks=document)
    except SignatureError as error:
        out.write(f"invalid: {error.reason}\n")
        return 1
    out.write(f"valid: {key_id}\n")
    return 0


def _wallet(args: argparse.Namespace, out: TextIO) -> int:
    config = ClientConfig(
        wallet_address_url="https://cli.invalid/",
        key_id="cli",
        private_key=generate_private_key(),  # unsigned GET: the key is never used
        timeout=args.timeout,
        allowed_http_hosts=frozenset(args.allow_http_host),
        allow_private_hosts=args.allow_private,
        private_hosts=frozenset(args.allow_private_host),
        ca_bundle=args.ca_bundle,
    )
    with OpenPaymentsClient(config) as client:
        wallet = client.wallet_addresses.get(args.url)
    out.write(
        json.dumps(
            {
                "id": wallet.id,
                "publicName": wallet.public_name,
                "assetCode": wallet.asset_code,
                "assetScale": wallet.asset_scale,
                "authServer": wallet.auth_server,
                "resourceServer": wallet.resource_server,
            },
            ensure_ascii=False,
        )
        + "\n"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m payments", description="Open Payments client tools")
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser(
        "keygen", help="write private.pem (0600) and jwks.json for a new Ed25519 key"
    )
    keygen.add_argument("--out", required=True, help="directory to write into")
    keygen.add_argument("--key-id", required=True)
    jwks_cmd = commands.add_parser("jwks", help="print the JWKS of a private key")
    jwks_cmd.add_argument("--key", required=True, help="PEM file")
    jwks_cmd.add_argument("--key-id", required=True)
    sign = commands.add_parser("sign", help="sign a {method,url,headers,body} request read from stdin")
    sign.add_argument("--key", required=True, help="PEM file")
    sign.add_argument("--key-id", required=True)
    sign.add_argument("--created", type=int, default=None, help="signature time, Unix seconds")
    verify = commands.add_parser("verify", help="verify a signed request read from stdin; exit 1 if invalid")
    verify.add_argument("--jwks", required=True, help="JWKS file")
    wallet = commands.add_parser("wallet", help="fetch a wallet address (URL or $pointer)")
    wallet.add_argument("url")
    wallet.add_argument("--timeout", type=float, default=10.0)
    wallet.add_argument(
        "--allow-http-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="host (on any port, or only PORT) allowed over plain http; repeatable",
    )
    wallet.add_argument(
        "--allow-private-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="host (on any port, or only PORT) allowed to be at a loopback/private address; repeatable",
    )
    wallet.add_argument(
        "--allow-private", action="store_true", help="allow loopback/private addresses for every host"
    )
    wallet.add_argument(
        "--ca-bundle",
        metavar="PATH",
        help="PEM file or hashed directory of CA certificates to trust too (beside certifi and the system's)",
    )
    return parser


def main(
    argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    source, out = stdin or sys.stdin, stdout or sys.stdout
    try:
        if args.command == "keygen":
            return _keygen(args, out)
        if args.command == "jwks":
            return _jwks(args, out)
        if args.command == "sign":
            return _sign(args, out, source)
        if args.command == "verify":
            return _verify(args, out, source)
        return _wallet(args, out)
    except (OpenPaymentsError, ValueError) as error:
        # ValueError: a setting the client cannot use (a host entry, the CA bundle).
        sys.stderr.write(f"error: {error}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
