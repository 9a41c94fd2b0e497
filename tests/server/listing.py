"""What a deployment lists, built without touching a database (tools/list opens no connection)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.types import Tool

from mcp_payments.adapters.db.engine import open_database
from mcp_payments.bootstrap import build
from mcp_payments.config import Settings
from mcp_payments.domain.roles import Role
from mcp_payments.server.registry import Toolbox, ToolSpec
from mcp_payments.services.access import REQUIRED_ROLE

_built: list[Toolbox] = []

# Keys given explicitly so that no secrets file is written to the user's data directory.
KEYS: dict[str, Any] = {"secret_key": "test-only", "webhook_secrets": ("whsec_test_only",)}


@asynccontextmanager
async def deployment(**overrides: Any) -> AsyncIterator[tuple[dict[str, Tool], dict[str, ToolSpec]]]:
    """The tools a server with these settings exposes, and the Toolbox's specs behind them."""
    settings = Settings(db_url="sqlite+aiosqlite:///:memory:", background=False, **{**KEYS, **overrides})
    db = open_database(settings.db_url)
    try:
        server, box, _ = build(db, settings)
        _built[:] = [box]
        # Every tool the deployment exposes, whoever asks (the in-memory caller is an agent, who is not shown the
        # admin tools; tests/server/test_roles.py checks what each role is shown).
        tools = await server.published_tools()
        yield {t.name: t for t in tools}, dict(box.specs)
    finally:
        await db.dispose()


def shown_to(role: Role, specs: dict[str, ToolSpec]) -> set[str]:
    """The tools a caller with `role` is listed (an agent: the local user on stdio or with --no-auth)."""
    return {name for name, spec in specs.items() if role.covers(REQUIRED_ROLE[spec.kind])}


def last_box() -> Toolbox:
    """The Toolbox of the deployment built last (inside `deployment()`)."""
    return _built[-1]
