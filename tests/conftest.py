from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from mcp_payments.bootstrap import application
from mcp_payments.config import Settings
from mcp_payments.server.app import PaymentsServer
from mcp_payments.server.registry import Toolbox
from mcp_payments.services.container import Services
from tests import databases

BACKENDS = ["sqlite", "postgresql"]
# Explicit keys, so that tests never create secrets.json in the real user data directory.
TEST_SECRETS: dict[str, Any] = {"secret_key": "test-fingerprint-key", "webhook_secrets": ("whsec_test",)}


def pytest_sessionfinish(session: pytest.Session) -> None:
    import anyio

    anyio.run(databases.drop_template)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def db_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with databases.fresh_database(backend, tmp_path) as url:
        yield url


class FakeClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


@dataclass
class Stack:
    server: PaymentsServer
    box: Toolbox
    services: Services
    settings: Settings
    clock: FakeClock | None


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
async def stack(db_url: str, settings_overrides: dict[str, Any]) -> AsyncIterator[Stack]:
    settings = Settings(db_url=db_url, **{**TEST_SECRETS, **settings_overrides})
    async with application(settings) as (server, box, services):
        yield Stack(server, box, services, settings, None)


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[Client]:
    async with Client(stack.server) as c:
        yield c


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def clocked_stack(db_url: str, settings_overrides: dict[str, Any], fake_clock: FakeClock) -> AsyncIterator[Stack]:
    """The application on a fresh database with time under the test's control (fake_clock.advance)."""
    settings = Settings(db_url=db_url, **{**TEST_SECRETS, **settings_overrides})
    async with application(settings, clock=fake_clock) as (server, box, services):
        yield Stack(server, box, services, settings, fake_clock)
