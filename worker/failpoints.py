"""Named points in the pipeline where the fault tests crash a worker on purpose.

Off unless `PIPELINE_FAILPOINT` names the point; with `PIPELINE_FAILPOINT_ONCE` set to a file path, the
crash happens only while that file does not exist (it is created first), so a restarted worker goes on.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def failpoint(name: str) -> None:
    """Kills this process with SIGKILL when the fault tests armed `name`; otherwise does nothing."""
    if os.environ.get("PIPELINE_FAILPOINT") != name:
        return
    once = os.environ.get("PIPELINE_FAILPOINT_ONCE")
    if once:
        marker = Path(once)
        if marker.exists():
            return
        marker.touch()
    os.kill(os.getpid(), signal.SIGKILL)
