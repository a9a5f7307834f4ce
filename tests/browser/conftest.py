"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, and a folder for screenshots."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.walk import chromium
from tests.services import ROOT

ARTIFACTS = ROOT / "artifacts" / "browser"


@pytest.fixture
def browser() -> Iterator[object]:
    """Chromium from Debian's package (`apt-get install chromium`), headless, offline flags."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """`artifacts/browser/<test>/`, emptied first: the screenshots of this test's steps."""
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
