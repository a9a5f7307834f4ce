"""`make flow`: one whole payment, headless, on the embedded default; prints its receipt as one JSON line.

Starts the local wallet (consent answered `accept` at once), Redis or the embedded broker, the web
server and a worker on free ports with a fresh SQLite database, then pays the demo funder's first quote
through the JSON API as an integration would: approve, follow the payment link, wait until paid. Exits 0
only when the job is paid.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from marketplace.devstack import Stack, bring_up, demo_env, say
from marketplace.processes import PYTHON, ROOT, delete_queue

DEADLINE_SECONDS = 120


def free_port() -> str:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    """Runs a management command in the flow's environment; its standard output."""
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


FIRST_QUOTE = (
    "from jobs.models import Quote; q = Quote.objects.filter(job__funder__username='funder')"
    ".order_by('job_id', 'id').first(); print(q.job_id, q.id)"
)


def wait_for_document(api: httpx.Client, path: str, done: Any, what: str) -> dict[str, Any]:
    """Polls the status document until `done(document)`; exits naming `what` after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        document = api.get(path).json()
        if done(document):
            return dict(document)
        if document.get("final") and not document.get("success"):
            raise SystemExit(f"[flow] the payment ended {document['status']}: {document.get('error')}")
        time.sleep(0.2)
    raise SystemExit(f"[flow] timed out waiting for {what}")


def pay(env: dict[str, str]) -> dict[str, Any]:
    """Pays the demo funder's first quote through the API; the receipt."""
    key = manage(env, "api_token_create", "funder", "--name", "make flow")
    job_id, quote_id = manage(env, "shell", "-v", "0", "-c", FIRST_QUOTE).split()
    base = env["PUBLIC_BASE_URL"]
    with httpx.Client(base_url=base, headers={"Authorization": f"Token {key}"}, timeout=10) as api:
        approved = api.post(f"/api/jobs/{job_id}/quotes/{quote_id}/approve")
        if approved.status_code != 202:
            raise SystemExit(f"[flow] approve answered {approved.status_code}: {approved.text}")
        status_path = f"/api/jobs/{job_id}/payment"
        link = wait_for_document(api, status_path, lambda d: d.get("paymentUrl"), "the payment link")
        say(f"payment link ready: {link['paymentUrl']}")
        # The wallet consents at once and sends the browser back to our finish callback.
        consented = httpx.get(link["paymentUrl"], follow_redirects=True, timeout=10)
        say(f"consent given; back on {consented.url.path}")
        paid = wait_for_document(api, status_path, lambda d: d.get("success"), "the job to be paid")
    return {
        "status": "paid",
        "jobId": int(job_id),
        "attemptId": paid["pendingId"],
        "debitAmount": paid["amount"],
        "receiveAmount": paid["receiveAmount"],
        "incomingPaymentId": paid["incomingPaymentId"],
        "outgoingPaymentId": paid["outgoingPaymentId"],
        "paidAt": paid["updatedAt"],
    }


def main() -> int:
    """Brings the stack up in a scratch folder, pays once, prints the receipt, stops everything."""
    with tempfile.TemporaryDirectory(prefix="marketplace-flow-") as scratch:
        env = demo_env(
            {
                **os.environ,
                "VAR_DIR": scratch,
                "DEMO_AUTO_CONSENT": "accept",
                "WEB_PORT": free_port(),
                "WALLET_PORT": free_port(),
                "FLOWER_PORT": free_port(),
                # A queue of its own, deleted at the end (on RabbitMQ a queue outlives its consumers).
                "CELERY_QUEUE": f"flow-{secrets.token_hex(4)}",
            }
        )
        env.pop("DATABASE_URL", None)
        stack = Stack(env=env, log_dir=Path(scratch))
        try:
            bring_up(stack, processes=("web", "worker"))
            receipt = pay(env)
        except BaseException:
            for log in sorted(Path(scratch).glob("*.log")):
                sys.stderr.write(f"--- {log.name} ---\n{log.read_text()[-4000:]}\n")
            raise
        finally:
            stack.stop()
            delete_queue(env["CELERY_BROKER_URL"], env["CELERY_QUEUE"])
    print(json.dumps(receipt), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
