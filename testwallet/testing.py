"""Start a real test wallet from a test, a benchmark or a script, and drive its admin API.

Usage::

    from testwallet.testing import running_wallet

    seed = {"wallets": [{"name": "alice", "publicName": "Alice", "assetCode": "USD", "assetScale": 2,
                         "balance": "100000"}]}
    with running_wallet(seed, auto_consent="accept", wait=1, settle_delay=0.05) as wallet:
        wallet.base_url                       # "http://127.0.0.1:<free port>"
        wallet.wallet_url("alice")            # "http://127.0.0.1:<port>/alice"
        wallet.create_wallet("bob", asset_code="USD", asset_scale=2, public_name="Bob", balance=0)
        client = wallet.create_client("platform", public_name="Job Board")  # key pair + wallet + JWKS
        client.url, client.key_id, client.private_key, client.private_key_pem
        wallet.add_key("alice", jwk)          # publish another public JWK
        wallet.set_balance("alice", 5000)     # minor units (int or digit string)
        wallet.balance("alice")               # -> 5000
        wallet.payments("alice")              # {"incomingPayments": [...], "outgoingPayments": [...]}
        wallet.faults({"routes": {"outgoing-payments.create": {"dropNext": 1}}})   # see testwallet.faults
        wallet.clear_faults()
        wallet.settings(waitSeconds=0)        # runtime settings (see testwallet.admin)
        wallet.advance_clock(601)             # expire tokens / quotes / interactions without sleeping
        wallet.settle()                       # settle every pending outgoing payment now
        wallet.state()                        # the whole state, e.g. to assert that nothing changed
        wallet.stats()                        # {"requests": N, "routes": {"grant.create": n, ...}}

``running_wallet(seed=None, *, in_thread=False, admin=True, tls=False, log_path=None, startup_timeout=20,
**options)``

* ``seed``: the ``--seed`` document (``{"wallets": [...]}``), or None for an empty wallet;
* ``options``: any ``python -m testwallet`` option, underscores for dashes: ``wait=1``,
  ``token_lifetime=2``, ``interaction_expiry=30``, ``quote_lifespan=15``, ``settle_delay=0.05``,
  ``auto_consent="accept"``, ``fee_fixed=50``, ``fee_basis_points=100``, ``rate=["USD:EUR=0.9"]``,
  ``faults={...}``, ``state=Path(...)``, ``jwks_cache=0``, ``public_url=...``;
* ``tls=True`` serves https (``--tls``) with a certificate from a CA the wallet makes; ``tls_dir=Path(...)``
  keeps that CA in a directory of yours (reused when it is there already, so a restart or a sibling wallet
  started with the same directory is trusted by the same clients). ``wallet.base_url`` is then
  ``https://127.0.0.1:<port>``, ``wallet.ca_file`` the CA certificate (``ca.pem``) and ``wallet.verify``
  what to give httpx as ``verify=`` to trust it (without TLS: None and True);
* by default the wallet runs as a subprocess ``python -m testwallet --port 0 ...`` (its own process,
  as other suites and benchmarks should see it); ``in_thread=True`` runs the same server in a thread
  of this process (faster to start; ``wallet.store`` then gives direct access to the state);
* the context waits until the server answers, yields a :class:`RunningWallet`, and on exit stops the
  server (SIGTERM, then SIGKILL after 10 s) and deletes its temporary files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .config import DEFAULT_TENANT
from .tls import client_context

READY_PREFIX = "testwallet listening on "
CA_PREFIX = "testwallet CA certificate: "


class WalletStartError(RuntimeError):
    """The wallet process exited or did not answer in time; the message includes its log."""


@dataclass(frozen=True)
class ClientIdentity:
    """A client wallet hosted by the test wallet, with its key pair (what a platform signs with)."""

    url: str
    key_id: str
    private_key: Ed25519PrivateKey
    public_jwk: dict[str, str]

    @property
    def private_key_pem(self) -> bytes:
        from payments.keys import private_key_pem

        return private_key_pem(self.private_key)


class RunningWallet:
    """A started test wallet: URLs plus helpers over its admin API (``/_admin/...``)."""

    def __init__(self, base_url: str, *, tenant: str, store: Any = None, ca_file: Path | None = None) -> None:
        self.base_url = base_url
        self.tenant = tenant
        self.auth_server = f"{base_url}/auth/{tenant}"
        self.resource_server = f"{base_url}/op/{tenant}"
        self.store = store  # only in thread mode
        self.ca_file = ca_file  # the CA certificate of a --tls wallet
        self.verify: ssl.SSLContext | bool = _verify(ca_file)  # httpx ``verify=`` trusting the wallet
        self._http = httpx.Client(base_url=base_url, timeout=10.0, verify=self.verify)

    def close(self) -> None:
        self._http.close()

    def wallet_url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, f"/_admin{path}", json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"admin {method} {path} failed: {response.status_code} {response.text}")
        return response.json()

    def create_wallet(
        self,
        name: str,
        *,
        asset_code: str = "USD",
        asset_scale: int = 2,
        public_name: str | None = None,
        balance: int | str = 0,
        keys: list[dict[str, str]] | tuple[dict[str, str], ...] = (),
    ) -> dict[str, Any]:
        """Create a wallet address ``<base>/<name>``; returns its wallet JSON plus balance and keys."""
        body: dict[str, Any] = {
            "name": name,
            "assetCode": asset_code,
            "assetScale": asset_scale,
            "balance": str(balance),
            "keys": list(keys),
        }
        if public_name is not None:
            body["publicName"] = public_name
        return self._admin("POST", "/wallets", body)  # type: ignore[no-any-return]

    def create_client(
        self, name: str, *, public_name: str | None = "Test Client", key_id: str | None = None
    ) -> ClientIdentity:
        """Create a wallet for a GNAP client with a fresh Ed25519 key published in its JWKS."""
        from payments.keys import generate_private_key, public_jwk

        key = generate_private_key()
        kid = key_id or f"{name}-key-1"
        jwk = public_jwk(key, kid)
        self.create_wallet(name, public_name=public_name, keys=[jwk])
        return ClientIdentity(url=self.wallet_url(name), key_id=kid, private_key=key, public_jwk=jwk)

    def add_key(self, name: str, jwk: dict[str, str]) -> dict[str, Any]:
        """Publish another public JWK for wallet ``name``; returns its JWKS."""
        return self._admin("POST", f"/wallets/{name}/keys", jwk)  # type: ignore[no-any-return]

    def set_balance(self, name: str, balance: int | str) -> dict[str, Any]:
        return self._admin("PUT", f"/wallets/{name}/balance", {"balance": str(balance)})  # type: ignore[no-any-return]

    def wallet(self, name: str) -> dict[str, Any]:
        return self._admin("GET", f"/wallets/{name}")  # type: ignore[no-any-return]

    def balance(self, name: str) -> int:
        return int(self.wallet(name)["balance"])

    def payments(self, name: str) -> dict[str, Any]:
        """``{"incomingPayments": [...], "outgoingPayments": [...]}`` with internal state fields."""
        return self._admin("GET", f"/wallets/{name}/payments")  # type: ignore[no-any-return]

    def faults(self, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Replace the fault configuration (None: read it); returns it with injection counts."""
        if config is None:
            return self._admin("GET", "/faults")  # type: ignore[no-any-return]
        return self._admin("PUT", "/faults", config)  # type: ignore[no-any-return]

    def clear_faults(self) -> dict[str, Any]:
        return self._admin("DELETE", "/faults")  # type: ignore[no-any-return]

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Read or change runtime settings (``waitSeconds``, ``autoConsent``, ``fees``, ``rates``…)."""
        if not changes:
            return self._admin("GET", "/settings")  # type: ignore[no-any-return]
        return self._admin("PUT", "/settings", changes)  # type: ignore[no-any-return]

    def advance_clock(self, seconds: float) -> float:
        return float(self._admin("POST", "/clock", {"advanceSeconds": seconds})["offsetSeconds"])

    def settle(self) -> int:
        return int(self._admin("POST", "/settle")["settled"])

    def state(self) -> dict[str, Any]:
        return self._admin("GET", "/state")  # type: ignore[no-any-return]

    def stats(self, *, reset: bool = False) -> dict[str, Any]:
        """``{"requests": N, "routes": {"grant.create": n, ...}}`` since start or the last reset;
        ``reset=True`` returns the counts and starts again from zero."""
        return self._admin("DELETE" if reset else "GET", "/stats")  # type: ignore[no-any-return]


def _cli_args(options: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(flag)
        elif isinstance(value, list | tuple):
            for item in value:
                args += [flag, str(item)]
        elif isinstance(value, dict):
            args += [flag, json.dumps(value)]
        else:
            args += [flag, str(value)]
    return args


def _verify(ca_file: Path | None) -> ssl.SSLContext | bool:
    return client_context(ca_file) if ca_file is not None else True


def _wait_healthy(base_url: str, deadline: float, alive: Any, log: Any, ca_file: Path | None = None) -> None:
    with httpx.Client(timeout=1.0, verify=_verify(ca_file)) as http:
        while time.monotonic() < deadline:
            if not alive():
                raise WalletStartError(f"the test wallet exited during start-up:\n{log()}")
            try:
                if http.get(f"{base_url}/_health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    raise WalletStartError(f"the test wallet did not answer in time:\n{log()}")


@contextlib.contextmanager
def _subprocess_wallet(
    seed_path: Path | None, args: list[str], log_path: Path, timeout: float, *, tls: bool = False
) -> Iterator[tuple[str, Path | None]]:
    """Start ``python -m testwallet``; yields its base URL and, with ``tls``, its CA certificate."""
    command = [sys.executable, "-m", "testwallet", "--host", "127.0.0.1", "--port", "0", *args]
    if seed_path is not None:
        command += ["--seed", str(seed_path)]
    root = str(Path(__file__).resolve().parents[1])  # the checkout holding testwallet/ and payments/
    pythonpath = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": pythonpath}
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout
        base_url: str | None = None
        ca_file: Path | None = None
        while base_url is None or (tls and ca_file is None):
            text = log_path.read_text(errors="replace")
            for line in text.splitlines(keepends=True):
                if not line.endswith("\n"):
                    break  # still being written
                if line.startswith(READY_PREFIX):
                    base_url = line[len(READY_PREFIX) :].strip()
                elif line.startswith(CA_PREFIX):
                    ca_file = Path(line[len(CA_PREFIX) :].strip())
            if base_url is None or (tls and ca_file is None):
                if process.poll() is not None:
                    raise WalletStartError(f"the test wallet exited with {process.returncode}:\n{text}")
                if time.monotonic() > deadline:
                    raise WalletStartError(f"the test wallet did not start in {timeout}s:\n{text}")
                time.sleep(0.02)
        _wait_healthy(
            base_url,
            deadline,
            lambda: process.poll() is None,
            lambda: log_path.read_text(errors="replace"),
            ca_file,
        )
        yield base_url, ca_file
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


@contextlib.contextmanager
def _thread_wallet(
    seed: dict[str, Any] | None, args: list[str], timeout: float, tmp: Path
) -> Iterator[tuple[str, Any, Path | None]]:
    """Serve in a thread of this process; yields the base URL, the store and the CA certificate."""
    import uvicorn

    from .app import create_app
    from .config import options_from_args
    from .state import Store
    from .tls import issued, server_names
    from .urls import Urls

    options = options_from_args(["--host", "127.0.0.1", "--port", "0", *args])
    sock = socket.socket(
        socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )  # proto set: asyncio then disables Nagle
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    scheme = "https" if options.tls else "http"
    base_url = options.public_url or f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
    store = Store(Urls(base_url, options.tenant), options.settings, ilp_prefix=options.ilp_prefix)
    if options.state is not None and options.state.exists():
        store.load(options.state)
    elif seed is not None:
        store.load_seed(seed)
    ca_file = None
    if options.tls:
        directory = options.tls_dir or tmp / "tls"
        with issued(directory, server_names("127.0.0.1", options.public_url)) as files:
            config = uvicorn.Config(
                create_app(options, store, trusted_ca=files.ca_cert),
                log_level="warning",
                access_log=False,
                lifespan="on",
                ssl_certfile=files.server_cert,
                ssl_keyfile=files.server_key,
            )
            config.load()  # reads the server certificate and key while no sibling can replace them
        ca_file = files.ca_cert
    else:
        config = uvicorn.Config(
            create_app(options, store), log_level="warning", access_log=False, lifespan="on"
        )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        _wait_healthy(
            base_url, time.monotonic() + timeout, thread.is_alive, lambda: "(in-thread server)", ca_file
        )
        yield base_url, store, ca_file
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def running_wallet(
    seed: dict[str, Any] | None = None,
    *,
    in_thread: bool = False,
    admin: bool = True,
    tls: bool = False,
    log_path: Path | None = None,
    startup_timeout: float = 20.0,
    **options: Any,
) -> Iterator[RunningWallet]:
    """Run a test wallet on 127.0.0.1 (free port) until the ``with`` block ends; see the module doc."""
    tenant = str(options.get("tenant") or DEFAULT_TENANT)
    args = _cli_args({"admin": admin, "tls": tls, **options})
    with tempfile.TemporaryDirectory(prefix="testwallet-") as tmp:
        if in_thread:
            with _thread_wallet(seed, args, startup_timeout, Path(tmp)) as (base_url, store, ca_file):
                wallet = RunningWallet(base_url, tenant=tenant, store=store, ca_file=ca_file)
                try:
                    yield wallet
                finally:
                    wallet.close()
            return
        seed_path = None
        if seed is not None:
            seed_path = Path(tmp) / "seed.json"
            seed_path.write_text(json.dumps(seed))
        log = log_path or Path(tmp) / "wallet.log"
        with _subprocess_wallet(seed_path, args, log, startup_timeout, tls=tls) as (base_url, ca_file):
            wallet = RunningWallet(base_url, tenant=tenant, ca_file=ca_file)
            try:
                yield wallet
            finally:
                wallet.close()
