"""The Node interop tests must fail, not skip, in CI when Node or the npm peers are missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import node_runner


def test_missing_packages_fail_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given CI=true and an empty node_modules / when the runner is asked for / then the test fails
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as caught:
        node_runner(tmp_path)
    assert str(caught.value).startswith("Node interop tests need Node.js and the pinned npm packages: ")


def test_missing_packages_skip_locally_pointing_at_make_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given no CI and an empty node_modules / when the runner is asked for / then it skips naming `make test`
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as caught:
        node_runner(tmp_path)
    assert "run `make test` (which installs them)" in str(caught.value)
