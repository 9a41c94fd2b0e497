"""Every tool x every role, over real streamable HTTP with real API keys: a tool is listed to a role exactly when the
role may call it; calling one it may not is refused as a protocol error naming the role needed and the caller's, and
writes nothing; calling one it may is never refused for its role."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from mcp_payments.domain.roles import Role
from mcp_payments.server.errors import PERMISSION_DENIED
from mcp_payments.services.access import REQUIRED_ROLE
from tests.e2e.processes import create_key, network_server, with_token
from tests.server.listing import deployment
from tests.server.rows import row_counter

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_each_role_lists_and_calls_exactly_the_tools_its_role_allows(db_url: str, tmp_path: Path) -> None:
    async with deployment() as (_, specs):
        needs = {name: REQUIRED_ROLE[spec.kind] for name, spec in specs.items()}
    keys = {role: (await create_key(db_url, tmp_path, role.value))["key"] for role in Role}
    seen: dict[tuple[Role, str], str] = {}
    # --no-background: the jobs' own runs would be counted as writes.
    async with network_server("http", db_url, tmp_path, "--no-background") as base, row_counter(db_url) as count:
        for role, key in keys.items():
            with anyio.fail_after(180):
                async with with_token("http", base, key) as transport, Client(transport) as client:
                    listed = {t.name for t in (await client.list_tools()).tools}
                    before = await count()
                    for name, needed in sorted(needs.items()):
                        if role.covers(needed):
                            continue
                        with pytest.raises(MCPError) as refused:
                            await client.call_tool(name, {"currency": "USD", "amount": "1.00"})
                        assert refused.value.error.code == PERMISSION_DENIED
                        seen[role, name] = refused.value.error.message
                    assert await count() == before, f"a refused call of {role} wrote something"
                    for name, needed in sorted(needs.items()):
                        if role.covers(needed):
                            await client.call_tool(name, {})  # a tool error at worst: these arguments are wrong
                            seen[role, name] = "allowed"
            assert listed == {name for name, needed in needs.items() if role.covers(needed)}, role

    assert len(seen) == len(Role) * len(needs)
    for (role, name), outcome in seen.items():
        if outcome != "allowed":
            assert f"needs role {needs[name]} or higher; you (key:{role}-bot) have role {role}" in outcome
    assert {name for (role, name), outcome in seen.items() if role is Role.VIEWER and outcome != "allowed"} == {
        name for name, needed in needs.items() if needed is not Role.VIEWER
    }
