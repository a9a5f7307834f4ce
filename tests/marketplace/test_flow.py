"""`make flow`: one whole payment, headless, ends with a receipt line saying paid."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.services import PYTHON, ROOT, process_env

pytestmark = [pytest.mark.slow]


def test_make_flow_pays_one_job_and_prints_its_receipt_as_one_json_line() -> None:
    # given the embedded default (its own scratch folder, SQLite, the local wallet)
    env = process_env()
    env.pop("DATABASE_URL", None)
    env.pop("VAR_DIR", None)

    # when the flow runs
    done = subprocess.run(
        [PYTHON, "-m", "marketplace.flow"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    # then it exits 0 and its last line is the receipt of a paid job
    assert done.returncode == 0, done.stderr[-3000:]
    receipt = json.loads(done.stdout.strip().splitlines()[-1])
    assert receipt["status"] == "paid"
    assert receipt["debitAmount"] == {
        "value": "4500",
        "assetCode": "USD",
        "assetScale": 2,
        "formatted": "45.00 USD",
    }
    assert receipt["receiveAmount"]["value"] == "4500"
    assert "/incoming-payments/" in receipt["incomingPaymentId"]
    assert "/outgoing-payments/" in receipt["outgoingPaymentId"]
