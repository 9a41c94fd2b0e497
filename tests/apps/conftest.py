"""One headless Chromium per test module (starting it costs seconds); each test opens its own pages."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apps.harness import browser_or_skip, chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    browser_or_skip()
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests write the views' screenshots (MCP_PAYMENTS_SCREENSHOTS names a directory to keep them)."""
    kept = os.environ.get("MCP_PAYMENTS_SCREENSHOTS")
    return Path(kept) if kept else tmp_path_factory.mktemp("screenshots")
