"""Named points in the pipeline where the fault tests crash a worker on purpose.

Off unless `PIPELINE_FAILPOINT` names the point. The crash takes the whole worker down (its process group,
as a power cut would), so what is left is what Redis and the database hold. With `PIPELINE_FAILPOINT_ONCE`
set to a file path, it happens only while that file does not exist (it is created first).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def failpoint(name: str) -> None:
    """Kills this worker with SIGKILL when the fault tests armed `name`; otherwise does nothing."""
    if os.environ.get("PIPELINE_FAILPOINT") != name:
        return
    once = os.environ.get("PIPELINE_FAILPOINT_ONCE")
    if once:
        marker = Path(once)
        if marker.exists():
            return
        marker.touch()
    os.killpg(os.getpgid(0), signal.SIGKILL)
