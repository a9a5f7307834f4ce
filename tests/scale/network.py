"""Machines on this one: Linux network namespaces on a bridge in this namespace.

    with machines(["m1", "m2"], delay_ms=5, log_dir=folder) as network:
        with network.on_services():  # processes started here run on the services machine
            ...                      # (PostgreSQL, Redis, the wallet listen on network.host)
        network.prefix("m1")         # ["ip", "netns", "exec", "scale-m1"]: runs a command on machine m1

The services machine is joined to the bridge by a veth pair; each worker machine by a cable that delays
every frame `delay_ms` each way (`tests.scale.cable`), so a round trip from a worker machine to any
service takes twice `delay_ms` more. This namespace, at the bridge's own address, reaches every machine
without delay.

One run at a time holds the network (a lock file). Every process a run starts lives in one of its
namespaces, so what an interrupted run left behind (processes, namespaces, bridge) is found and removed
before the next one starts; a run removes its own on the way out.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from marketplace.processes import PYTHON, Group, wait_until
from tests.scale.cable import NETNS, enter

PREFIX = "scale-"
BRIDGE = f"{PREFIX}br"
SERVICES = "services"
SUBNET = "10.213.0"
LOCK = Path(tempfile.gettempdir()) / "marketplace-scale.lock"


def ip(*args: str) -> str:
    """Runs `ip args…`; its output."""
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


@dataclass
class Network:
    """The services machine's address and the worker machines' names."""

    host: str
    names: list[str]

    def prefix(self, name: str) -> list[str]:
        """The command prefix that runs a command on machine `name`."""
        return ["ip", "netns", "exec", PREFIX + name]

    @contextmanager
    def on_services(self) -> Iterator[None]:
        """Processes this thread starts inside the block run on the services machine."""
        with open("/proc/thread-self/ns/net") as here, (NETNS / (PREFIX + SERVICES)).open() as there:
            enter(there.fileno())
            try:
                yield
            finally:
                enter(here.fileno())


def remove_leftovers() -> None:
    """Ends every process still inside this scenario's namespaces, then removes the namespaces and every
    device of ours left in this one (the bridge, the services' veth; a cable's devices go with its
    process)."""
    namespaces = [line.split()[0] for line in ip("netns", "list").splitlines()]
    namespaces = [name for name in namespaces if name.startswith(PREFIX)]
    pids = [int(pid) for name in namespaces for pid in ip("netns", "pids", name).split()]
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not any(map(alive, pids)), "the processes of an earlier run to end", timeout=10)
    for name in namespaces:
        ip("netns", "del", name)
    # A namespace goes away in the background; deleting our end of its veth pair now is immediate.
    for device in Path("/sys/class/net").iterdir():
        if device.name.startswith(PREFIX):
            with suppress(subprocess.CalledProcessError):  # gone meanwhile
                ip("link", "del", device.name)


def alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie has let go of everything it held)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def namespace(name: str) -> str:
    """A new namespace for machine `name`, its loopback up; its name."""
    made = PREFIX + name
    ip("netns", "add", made)
    ip("-n", made, "link", "set", "lo", "up")
    return made


def address(made: str, device: str, number: int) -> None:
    """Gives `device` in namespace `made` the address .`number` of the subnet, and brings it up."""
    ip("-n", made, "addr", "add", f"{SUBNET}.{number}/24", "dev", device)
    ip("-n", made, "link", "set", device, "up")


def plug_services() -> None:
    """The services machine, on the bridge through a veth pair, at address .2."""
    made, outer, inner = namespace(SERVICES), f"{PREFIX}svc", f"{PREFIX}svcn"
    ip("link", "add", outer, "type", "veth", "peer", "name", inner, "netns", made)
    ip("link", "set", outer, "master", BRIDGE, "up")
    address(made, inner, 2)


def plug(cables: Group, name: str, number: int, delay_ms: int) -> None:
    """Worker machine `name`, on the bridge through a cable delaying `delay_ms` each way, at address
    .`10 + number`."""
    made, outer, inner = namespace(name), f"{PREFIX}{name}b", f"{PREFIX}{name}n"
    log = cables.log(f"cable-{name}")
    assert log is not None
    earlier = log.stat().st_size if log.exists() else 0  # the log of an earlier cable of the same name
    cables.start(
        f"cable-{name}",
        [PYTHON, "-m", "tests.scale.cable", made, outer, inner, str(delay_ms)],
        ready=lambda: "ready" in log.read_text()[earlier:],
        timeout=10,
    )
    ip("link", "set", outer, "master", BRIDGE, "up")
    address(made, inner, 10 + number)


@contextmanager
def machines(names: list[str], *, delay_ms: int, log_dir: Path) -> Iterator[Network]:
    """The services machine and a worker machine per name; removed on exit."""
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        remove_leftovers()
        cables = Group(dict(os.environ), log_dir)
        try:
            ip("link", "add", BRIDGE, "type", "bridge")
            ip("addr", "add", f"{SUBNET}.1/24", "dev", BRIDGE)
            ip("link", "set", BRIDGE, "up")
            plug_services()
            for number, name in enumerate(names, start=1):
                plug(cables, name, number, delay_ms)
            yield Network(host=f"{SUBNET}.2", names=names)
        finally:
            cables.stop()
            remove_leftovers()
