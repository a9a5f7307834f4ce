"""The process harness (marketplace.processes): what it starts it stops, children included, and a process
that does not come up says why."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from marketplace.processes import PYTHON, Group, NotReady, database, free_port, port_open, stop
from tests.services import require, require_local_postgres, require_postgres_server, wait_until

# Starts a child of its own (in its group), prints the child's pid, then waits.
PARENT_OF_A_SLEEPER = (
    "import subprocess, time; child = subprocess.Popen(['sleep', '60']); print(child.pid, flush=True); "
    "time.sleep(60)"
)


def alive(pid: int) -> bool:
    """Whether a process with this id exists and is not a zombie."""
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_stopping_a_group_also_ends_what_its_processes_started(tmp_path: Path) -> None:
    # given a process of a group that started a child of its own
    with Group(dict(os.environ), tmp_path) as group:
        parent = group.start("parent", [PYTHON, "-c", PARENT_OF_A_SLEEPER])
        log = tmp_path / "parent.log"
        wait_until(lambda: log.read_text().strip().isdigit(), 10, "the child's pid in the log")
        child = int(log.read_text())

    # when the group's block ends
    # then both are gone
    assert parent.returncode is not None
    wait_until(lambda: not alive(child), 5, "the child to end")


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    # given a process that ignores SIGTERM
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); "
    code += "time.sleep(60)"
    with Group(dict(os.environ), tmp_path) as group:
        process = group.start(
            "stubborn", [PYTHON, "-c", code], ready=lambda: "up" in (tmp_path / "stubborn.log").read_text()
        )

        # when it is stopped with a short grace period
        late = stop(process, grace=0.5)

    # then it was killed, and said so
    assert late == [process]
    assert process.returncode == -9


def test_a_process_that_exits_while_waited_for_says_so_with_the_end_of_its_log(tmp_path: Path) -> None:
    # given a process that fails at start-up
    with Group(dict(os.environ), tmp_path) as group, pytest.raises(NotReady) as raised:
        # when it is waited for
        group.start("broken", [PYTHON, "-c", "print('no config'); raise SystemExit(3)"], ready=lambda: False)

    # then the error names it, its exit code and the end of its log
    assert "the broken process exited with code 3" in str(raised.value)
    assert "no config" in str(raised.value)


def test_a_redis_of_its_own_answers_on_its_port_until_stopped(tmp_path: Path) -> None:
    require(shutil.which("redis-server") is not None, "redis-server", "install redis-server")
    port = free_port()
    with Group(dict(os.environ), tmp_path) as group:
        # when started, it answers at once
        group.redis(port, folder=tmp_path)
        assert port_open("127.0.0.1", port)

    # then, once stopped, nothing listens there
    assert not port_open("127.0.0.1", port)


def test_a_database_of_its_own_exists_only_inside_its_block() -> None:
    require_local_postgres()

    def exists(url: str) -> bool:
        query = ["psql", url, "-tAc", "select 1"]
        return subprocess.run(query, capture_output=True, text=True, check=False).stdout.strip() == "1"

    with database(prefix="test") as url:
        assert exists(url)
    assert not exists(url)


def psql(url: str, sql: str) -> subprocess.CompletedProcess[str]:
    """psql running `sql` at `url`, printing only the rows (unaligned)."""
    return subprocess.run(["psql", url, "-qtAc", sql], capture_output=True, text=True, check=False)


def test_a_postgres_of_its_own_answers_and_keeps_its_data_across_a_restart(tmp_path: Path) -> None:
    require_postgres_server()
    require(shutil.which("psql") is not None, "psql", "install postgresql-client")
    port = free_port()
    url = f"postgres://postgres@127.0.0.1:{port}/postgres"

    def accepts_sessions() -> bool:
        # Group.postgres returns once the port is open; sessions are refused a moment longer.
        return psql(url, "select 1").returncode == 0

    with Group(dict(os.environ), tmp_path) as group:
        # given a server of its own, with a row stored
        server = group.postgres(tmp_path / "postgres", port)
        wait_until(accepts_sessions, 10, "PostgreSQL to accept sessions")
        assert psql(url, "create table kept (n int); insert into kept values (42)").returncode == 0

        # when it is shut down fast (SIGINT, as an operator does) and started again on the same folder
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)
        assert not port_open("127.0.0.1", port)
        group.postgres(tmp_path / "postgres", port)
        wait_until(accepts_sessions, 10, "PostgreSQL to accept sessions again")

        # then it answers with the row
        assert psql(url, "select n from kept").stdout == "42\n"

    # and, once stopped, nothing listens there
    assert not port_open("127.0.0.1", port)


@pytest.mark.slow
def test_a_rabbitmq_of_its_own_accepts_amqp_connections(tmp_path: Path) -> None:
    require(shutil.which("rabbitmq-server") is not None, "rabbitmq-server", "install rabbitmq-server")
    from kombu import Connection

    port = free_port()
    with Group(dict(os.environ), tmp_path) as group:
        try:
            # given a node of its own
            group.rabbitmq(tmp_path / "rabbitmq", port)

            # when a client connects over AMQP and sends itself a message
            with Connection(f"amqp://guest:guest@127.0.0.1:{port}//", connect_timeout=4) as connection:
                queue = connection.SimpleQueue("probe")
                queue.put({"n": 42})
                message = queue.get(timeout=10)
                message.ack()

            # then the message came back
            assert message.payload == {"n": 42}
        finally:
            # The launcher runs the node in a session of its own: stopping the group does not reach it.
            stop_node = ["rabbitmqctl", "-n", f"node{port}@localhost", "stop"]
            subprocess.run(stop_node, capture_output=True, check=False, timeout=60)
