"""The scale scenario with small N, in `make test`: three worker machines (network namespaces) pay every
job with one machine SIGKILLed midway, nothing doubled or lost. `make scale` runs it full size."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import services

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(600)]


def test_three_machines_pay_every_job_once_though_one_is_killed() -> None:
    services.require(os.geteuid() == 0, "root", "run as root: the scenario makes network namespaces")
    for tool, package in (("ip", "iproute2"), ("redis-server", "redis-server"), ("createdb", "postgresql")):
        services.require(shutil.which(tool) is not None, tool, f"install {package}")
    services.require(Path("/dev/net/tun").exists(), "/dev/net/tun", "load the tun module")
    services.require_postgres_server()

    # when the short scenario runs
    done = subprocess.run(
        [services.PYTHON, "-m", "tests.scale", "--short"],
        cwd=services.ROOT,
        capture_output=True,
        text=True,
        timeout=570,
        check=False,
    )

    # then it printed one line, of this exact shape, and every job was paid once
    assert len(done.stdout.splitlines()) == 1, done.stdout + done.stderr
    line = json.loads(done.stdout)
    assert list(line) == [
        "scenario",
        "groups",
        "delay_ms",
        "wallet_latency_ms",
        "jobs",
        "paid",
        "duplicates",
        "lost",
        "killed_group",
        "per_group",
        "final_within_s",
    ]
    assert (line["scenario"], line["groups"], line["delay_ms"], line["jobs"]) == ("scale", 3, 5, 30)
    assert (line["paid"], line["duplicates"], line["lost"], line["killed_group"]) == (30, 0, 0, "m2")
    assert [group["group"] for group in line["per_group"]] == ["m1", "m2", "m3"]
    for group in line["per_group"]:
        assert list(group) == ["group", "workers", "threads", "links", "links_per_s", "paid"]
        assert (group["workers"], group["threads"]) == (1, 4)
        assert group["links"] > 0 and group["links_per_s"] > 0, line
    # and every link and every payment is counted at the machine that made it
    assert sum(group["links"] for group in line["per_group"]) >= 30, line
    assert sum(group["paid"] for group in line["per_group"]) == 30, line
    assert done.returncode == 0, done.stderr
