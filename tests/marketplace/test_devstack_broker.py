"""`make demo` picks its broker: Redis when it answers, a started redis-server, else the embedded one."""

from __future__ import annotations

import pytest

from marketplace import devstack
from tests.services import free_port


def test_without_redis_or_redis_server_the_demo_uses_the_embedded_broker_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given no Redis answering at REDIS_URL and no redis-server installed
    monkeypatch.setattr(devstack.shutil, "which", lambda name: None)
    stack = devstack.Stack(env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})

    # when
    broker = devstack.choose_broker(stack)

    # then
    assert broker == "filesystem://"
    assert "using the embedded filesystem broker under var/broker" in capsys.readouterr().out
    assert stack.children == []


def test_a_reachable_redis_is_used_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    # given the machine's Redis
    from tests.services import require_redis

    url = require_redis()
    stack = devstack.Stack(env={"REDIS_URL": url})

    # when / then
    assert devstack.choose_broker(stack) == url
    assert capsys.readouterr().out == f"[demo] broker: Redis at {url}\n"
    assert stack.children == []
