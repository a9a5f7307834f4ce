"""The official Node SDK, with response validation on, pays through the test wallet."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testwallet.testing import RunningWallet

from .conftest import Parties
from .opclient import amount

NODE_SCRIPT = Path(__file__).resolve().parent / "node" / "p2p.js"
NODE_MODULES = Path(__file__).resolve().parents[1] / "node" / "node_modules"
SDK = NODE_MODULES / "@interledger" / "open-payments" / "package.json"


def require_node_sdk() -> Path:
    """Skip (fail under CI=true) when Node or the pinned SDK is missing, saying how to get them."""
    from tests import services

    services.require(
        shutil.which("node") is not None and SDK.is_file(),
        "Node.js with @interledger/open-payments in tests/node",
        "run `make test` (it installs the pinned npm packages; Node 20 must be on PATH)",
    )
    return NODE_MODULES


@pytest.mark.node
def test_official_sdk_completes_a_peer_to_peer_payment(
    wallet: RunningWallet, parties: Parties, tmp_path: Path
) -> None:
    node_modules = require_node_sdk()

    # given the wallet consenting automatically and the client's private key in a PEM file
    wallet.settings(autoConsent="accept")
    key_path = tmp_path / "client.pem"
    key_path.write_bytes(parties.client.private_key_pem)
    request = {
        "clientUrl": parties.client.url,
        "keyId": parties.client.key_id,
        "keyPath": str(key_path),
        "sender": parties.alice["id"],
        "receiver": parties.bob["id"],
    }

    # when the SDK runs the whole peer-to-peer flow
    completed = subprocess.run(
        ["node", str(NODE_SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(node_modules)},
        check=False,
    )

    # then every step passed the SDK's own response validation and our signature checks
    assert completed.returncode == 0, completed.stderr
    steps = json.loads(completed.stdout)
    assert steps["walletAddresses"]["sender"] == parties.alice
    assert steps["walletAddresses"]["clientKeyIds"] == [parties.client.key_id]
    assert steps["incomingPaymentGrant"] == {"finalized": True}
    assert steps["incomingPayment"]["metadata"] == {"description": "Job #42 — café", "externalRef": "job-42"}
    assert steps["quote"]["readBackEqual"] is True
    assert steps["consent"] == {"status": 302, "hashMatches": True, "finalizedBeforeContinue": False}
    assert steps["continue"]["finalized"] is True
    payment = steps["outgoingPayment"]
    assert payment["id"].rsplit("/", 1)[1] == payment["quoteId"].rsplit("/", 1)[1]
    assert payment["grantSpentDebitAmount"] == amount(0)
    assert (steps["completedPayment"]["sentAmount"], steps["completedPayment"]["failed"]) == (
        amount(1000),
        False,
    )
    incoming = steps["incomingAfter"]
    assert (incoming["completed"], incoming["receivedAmount"], incoming["methods"]) == (
        True,
        amount(1000),
        [],
    )
    assert steps["publicIncoming"] == {
        "receivedAmount": amount(1000),
        "authServer": parties.bob["authServer"],
    }
    assert steps["grantSpent"] == {"spentDebitAmount": amount(1000), "spentReceiveAmount": amount(1000)}
    assert steps["lists"] == {"outgoing": [payment["id"]], "incoming": [steps["incomingPayment"]["id"]]}
    assert steps["tokens"] == {
        "rotatedChanged": True,
        "manageChanged": True,
        "afterCancel": {"status": 403, "description": "Inactive Token"},
    }
    assert (wallet.balance(parties.alice_name), wallet.balance(parties.bob_name)) == (99_000, 1000)
