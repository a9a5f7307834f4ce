"""`make flow`: one whole payment, headless, ends with a receipt line saying paid."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.services import PYTHON, ROOT, process_env, require

pytestmark = [pytest.mark.slow]


RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def rabbitmq_answers(url: str) -> bool:
    """Whether a RabbitMQ broker accepts a connection at `url`."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception:  # kombu and amqp raise many kinds of connection errors
        return False
    return True


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_make_flow_pays_one_job_and_prints_its_receipt_as_one_json_line(broker: str) -> None:
    # given the embedded default (its own scratch folder, SQLite, the local wallet), on Redis or on
    # RabbitMQ (a durable quorum queue, publisher confirms, countdowns in RabbitMQ's delay queues)
    env = process_env()
    env.pop("DATABASE_URL", None)
    env.pop("VAR_DIR", None)
    env.pop("CELERY_BROKER_URL", None)
    if broker == "rabbitmq":
        require(rabbitmq_answers(RABBITMQ_URL), f"RabbitMQ at {RABBITMQ_URL}", "start rabbitmq-server")
        env["CELERY_BROKER_URL"] = RABBITMQ_URL

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
        "formatted": "$45.00",
    }
    assert receipt["receiveAmount"]["value"] == "4500"
    assert "/incoming-payments/" in receipt["incomingPaymentId"]
    assert "/outgoing-payments/" in receipt["outgoingPaymentId"]
