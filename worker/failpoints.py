"""Named points in the pipeline where the fault tests crash a worker on purpose.

Off unless `PIPELINE_FAILPOINT` names the point (or lists it among comma-separated names). The crash takes
the whole worker down (its process group, as a power cut would), so what is left is what Redis and the
database hold. With `PIPELINE_FAILPOINT_ONCE` set to a file path, it happens only while that file does not
exist (it is created first, holding the name of the point).

`PIPELINE_DUPLICATE_DELIVERY=N` (N ≥ 2) makes every payment-step message published by this process go
out 2 to N times, some copies at the same moment, some a moment later: Celery's at-least-once delivery,
exaggerated. Copies of copies are not made, so the number of messages stays bounded.
"""

from __future__ import annotations

import os
import random
import signal
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def failpoint(name: str) -> None:
    """Kills this worker with SIGKILL when the fault tests armed `name`; otherwise does nothing."""
    if name not in os.environ.get("PIPELINE_FAILPOINT", "").split(","):
        return
    once = os.environ.get("PIPELINE_FAILPOINT_ONCE")
    if once:
        marker = Path(once)
        try:
            with marker.open("x") as created:
                created.write(name)
        except FileExistsError:
            return
    os.killpg(os.getpgid(0), signal.SIGKILL)


COPY_HEADER = "duplicate_of"
# Set while a copy runs: what it publishes is not copied again.
_in_copy: ContextVar[bool] = ContextVar("in_copy", default=False)
NOT_COPIED = frozenset({"payments.reconcile"})


def duplicate_deliveries() -> None:
    """Connects the duplicating publish hook when `PIPELINE_DUPLICATE_DELIVERY` asks for it."""
    most = int(os.environ.get("PIPELINE_DUPLICATE_DELIVERY") or 0)
    if most < 2:
        return
    from celery import current_app
    from celery.signals import after_task_publish, task_postrun, task_prerun

    def copy(sender: str, body: Any = None, headers: Any = None, routing_key: str = "", **_: Any) -> None:
        headers = headers or {}
        if not sender.startswith("payments.") or sender in NOT_COPIED:
            return
        if headers.get(COPY_HEADER) or _in_copy.get():
            return
        args = body[0] if isinstance(body, tuple | list) else body.get("args", ())
        eta = headers.get("eta")
        start = datetime.fromisoformat(eta) if eta else datetime.now(UTC)
        # A connection of its own: the publisher still holds a producer from the pool, and waiting for a
        # second one there deadlocks once every producer is held by a publisher doing the same.
        with current_app.connection_for_write() as connection:
            for n in range(random.randint(1, most - 1)):  # noqa: S311 - fault injection
                later = 0.0 if n == 0 else random.uniform(0.0, 1.5)  # noqa: S311
                current_app.send_task(
                    sender,
                    args=list(args),
                    queue=routing_key or None,
                    eta=start + timedelta(seconds=later),
                    headers={COPY_HEADER: headers.get("id", "")},
                    connection=connection,
                )

    def enter(task: Any = None, **_: Any) -> None:
        request = getattr(task, "request", None)
        _in_copy.set(bool(getattr(request, COPY_HEADER, None) or (request and request.get(COPY_HEADER))))

    def leave(**_: Any) -> None:
        _in_copy.set(False)

    after_task_publish.connect(copy, weak=False)
    task_prerun.connect(enter, weak=False)
    task_postrun.connect(leave, weak=False)
