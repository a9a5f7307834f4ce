"""`python -m tests.scale.cable NETNS OUTER INNER DELAY_MS`: a network cable with a delay.

It makes two TAP devices, OUTER in this process's network namespace and INNER inside the namespace
NETNS, and copies every Ethernet frame from one to the other DELAY_MS milliseconds late, in each
direction (a round trip across it takes twice DELAY_MS more). It prints `ready` once both exist; the
caller gives them addresses and puts OUTER on a bridge. Both devices go away with the process.

It does what `tc qdisc add dev ... netem delay` does on a veth pair, for kernels built without netem.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import select
import struct
import sys
import time
from collections import deque
from pathlib import Path

NETNS = Path("/var/run/netns")
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
FRAMES_PER_WAKE = 64


def tap(name: str) -> int:
    """A new TAP device `name` in the current network namespace; its file descriptor (non-blocking)."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def enter(namespace: int) -> None:
    """Moves the calling thread into the network namespace open at file descriptor `namespace` (e.g.
    /var/run/netns/NAME, made by `ip netns add NAME`); the processes it starts from then on are born
    there."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(namespace, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def carry(a: int, b: int, delay: float) -> None:
    """Copies frames read from each descriptor to the other `delay` seconds later, in order, forever."""
    other = {a: b, b: a}
    due: dict[int, deque[tuple[float, bytes]]] = {a: deque(), b: deque()}  # frames waiting to go out
    while True:
        waiting = [queue[0][0] for queue in due.values() if queue]
        timeout = max(0.0, min(waiting) - time.monotonic()) if waiting else None
        readable, _, _ = select.select([a, b], [], [], timeout)
        now = time.monotonic()
        for fd in readable:
            for _ in range(FRAMES_PER_WAKE):
                try:
                    frame = os.read(fd, 65536)
                except BlockingIOError:
                    break
                due[other[fd]].append((now + delay, frame))
        now = time.monotonic()
        for fd, queue in due.items():
            while queue and queue[0][0] <= now:
                frame = queue.popleft()[1]
                # A device that is not up yet refuses frames (EIO): dropped, as on an unplugged cable.
                with contextlib.suppress(OSError):
                    os.write(fd, frame)


def main(argv: list[str]) -> None:
    netns, outer, inner, delay_ms = argv
    near = tap(outer)
    with (NETNS / netns).open() as there:
        enter(there.fileno())
    far = tap(inner)
    print("ready", flush=True)
    carry(near, far, int(delay_ms) / 1000)


if __name__ == "__main__":
    main(sys.argv[1:])
