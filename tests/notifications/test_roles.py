"""Who may do what with webhooks: every role reads them; only an admin creates, deletes, re-enables, rotates or
replays."""

import pytest

from mcp_payments.domain.roles import Role
from tests.server.listing import deployment, shown_to

pytestmark = pytest.mark.anyio

READS = {"list_webhook_endpoints", "list_webhook_deliveries"}
WRITES = {
    "create_webhook_endpoint",
    "delete_webhook_endpoint",
    "enable_webhook_endpoint",
    "rotate_webhook_secret",
    "replay_webhook",
}


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_is_shown_the_webhook_tools_it_may_call(role: Role) -> None:
    async with deployment() as (_, specs):
        shown = shown_to(role, specs) & (READS | WRITES)
    assert shown == (READS | WRITES if role is Role.ADMIN else READS)


async def test_the_webhook_tools_form_the_notifications_toolset_and_writes_are_not_read_only() -> None:
    async with deployment() as (tools, specs):
        assert {name for name, spec in specs.items() if spec.toolset == "notifications"} == READS | WRITES
        for name in READS:
            assert tools[name].annotations is not None
            assert tools[name].annotations.read_only_hint is True
        assert tools["delete_webhook_endpoint"].annotations is not None
        assert tools["delete_webhook_endpoint"].annotations.destructive_hint is True
    async with deployment(read_only=True) as (tools, _):
        assert not WRITES & set(tools)
