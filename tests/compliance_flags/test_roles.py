"""Who may do what with flags: every role lists them; an operator or admin resolves them."""

import pytest

from mcp_payments.domain.roles import Role
from tests.server.listing import deployment, shown_to

pytestmark = pytest.mark.anyio

READS = {"list_compliance_flags"}
RESOLVES = {"resolve_compliance_flag"}


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_is_shown_the_flag_tools_it_may_call(role: Role) -> None:
    async with deployment() as (_, specs):
        shown = shown_to(role, specs) & (READS | RESOLVES)
    assert shown == (READS | RESOLVES if role.covers(Role.OPERATOR) else READS)


async def test_the_flag_tools_are_in_the_compliance_toolset_and_resolving_is_not_read_only() -> None:
    async with deployment() as (tools, specs):
        assert {specs[name].toolset for name in READS | RESOLVES} == {"compliance"}
        annotations = tools["list_compliance_flags"].annotations
        assert annotations is not None
        assert annotations.read_only_hint is True
    async with deployment(read_only=True) as (tools, _):
        assert "list_compliance_flags" in tools
        assert not RESOLVES & set(tools)
