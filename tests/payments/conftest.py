"""Fixtures for payments tests: fixed keys and a runner for the official Node peers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "tests" / "node" / "node_modules"
NODE_SCRIPTS = Path(__file__).resolve().parent / "node"
REQUIRED_PACKAGES = ("@interledger/http-signature-utils", "@interledger/open-payments")

# A fixed key makes every signature in these tests reproducible (Ed25519 is deterministic).
CLIENT_KEY_SEED = bytes(range(32))
CLIENT_KEY_ID = "client-key-1"


@pytest.fixture
def client_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(CLIENT_KEY_SEED)


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "`node` is not on PATH"
    for package in REQUIRED_PACKAGES:
        if not (NODE_MODULES / package / "package.json").is_file():
            return f"{package} is not installed under {NODE_MODULES}"
    return None


@pytest.fixture
def run_node() -> Callable[[str, Any], Any]:
    """Run ``tests/payments/node/<script>`` with JSON on stdin; return its parsed JSON stdout."""
    missing = _node_missing()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Node interop tests need Node.js and the pinned npm packages: {missing}")
        pytest.skip(f"{missing}; run `make test` (which installs them) to run the Node interop tests")

    def run(script: str, payload: Any) -> Any:
        completed = subprocess.run(
            ["node", str(NODE_SCRIPTS / script)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        return json.loads(completed.stdout)

    return run
