"""Roles from the tool classification, checked per call on the server: each role is shown exactly the tools it may
call, a call of any other is refused as a protocol error naming both roles and writes nothing, and the kinds no tool
has yet (approve, admin) already need their roles."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from mcp_payments import catalog
from mcp_payments.domain.roles import Role
from mcp_payments.server.access import Access
from mcp_payments.server.app import build_server
from mcp_payments.server.callers import Callers
from mcp_payments.server.errors import PERMISSION_DENIED
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import Mutation
from mcp_payments.services.access import REQUIRED_ROLE, AuthMode, Caller
from mcp_payments.services.commands import Kind
from mcp_payments.services.container import Services
from mcp_payments.services.ports import UnitOfWork
from tests.conftest import Stack
from tests.helpers import ok
from tests.server.listing import deployment
from tests.server.rows import row_counter

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def client_as(stack: Stack, role: Role, register: object = catalog.register_tools) -> AsyncIterator[Client]:
    """An in-memory client of the stack's services whose every request is made by a caller with `role`."""
    caller = Caller(f"test:{role}", role, AuthMode.PROCESS, credential=f"cred-{role}")
    server, _ = build_server(stack.services, stack.settings, register, Access(Callers.fixed(caller)))  # type: ignore[arg-type]
    async with Client(server) as client:
        yield client


def test_every_kind_of_tool_needs_a_role_and_the_table_says_which() -> None:
    assert set(REQUIRED_ROLE) == set(Kind)
    assert dict(REQUIRED_ROLE) == {
        Kind.READ: Role.VIEWER,
        Kind.OVERSEE: Role.OPERATOR,
        Kind.WRITE: Role.AGENT,
        Kind.MONEY: Role.AGENT,
        Kind.OPERATE: Role.OPERATOR,
        Kind.APPROVE: Role.OPERATOR,
        Kind.ADMIN: Role.ADMIN,
    }


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_is_shown_exactly_the_tools_it_may_call_and_refused_the_others_writing_nothing(
    stack: Stack, role: Role
) -> None:
    async with deployment() as (_, specs):
        allowed = {name for name, spec in specs.items() if role.covers(REQUIRED_ROLE[spec.kind])}
        refused = set(specs) - allowed
    async with client_as(stack, role) as client, row_counter(stack.settings.db_url) as count:
        assert {t.name for t in (await client.list_tools()).tools} == allowed
        before = await count()
        for name in sorted(refused):
            with pytest.raises(MCPError) as error:
                await client.call_tool(name, {"currency": "USD", "amount": "1.00"})
            needed = REQUIRED_ROLE[specs[name].kind]
            assert error.value.error.code == PERMISSION_DENIED
            assert error.value.error.data == {
                "code": "role_required",
                "details": {"tool": name, "required_role": needed.value, "role": role.value},
            }
            assert f"needs role {needed} or higher; you (test:{role}) have role {role}" in error.value.error.message
        assert await count() == before
        for name in sorted(allowed):  # not refused for its role: a tool error at worst (these arguments are bad)
            await client.call_tool(name, {})
    if role is Role.VIEWER:
        assert refused
        # A viewer reads: what it is refused changes state, or reads everyone's records (an operator's).
        assert all(specs[name].kind is not Kind.READ for name in refused)
        assert {name for name in refused if not specs[name].kind.mutating} == {"generate_compliance_report"}


class Approved(Mutation):
    done: str

    def entity_ids(self) -> tuple[str, ...]:
        return ()


def with_future_kinds(box: Toolbox, services: Services) -> None:
    """The catalog's tools (approve_request among them) and one admin tool of the kind the next issues add (a key
    tool). This module has no `from __future__ import annotations`: the toolbox reads each tool's return type as a
    class."""
    catalog.register_tools(box, services)

    @box.command(kind=Kind.ADMIN, toolset="controls", title="Rotate")
    async def rotate_everything(uow: UnitOfWork) -> Approved:
        """Rotate."""
        return Approved(done="rotated")


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        (Role.AGENT, set()),
        (Role.OPERATOR, {"approve_request"}),
        (Role.ADMIN, {"approve_request", "rotate_everything"}),
    ],
)
async def test_approve_tools_need_an_operator_and_admin_tools_an_admin(
    stack: Stack, role: Role, visible: set[str]
) -> None:
    async with client_as(stack, role, with_future_kinds) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        assert listed & {"approve_request", "rotate_everything"} == visible
        unknown = {"approval_id": "apr_" + "0" * 26}
        if "approve_request" in visible:  # past the role check: an unknown approval is a tool error
            result = await client.call_tool("approve_request", unknown)
            assert result.is_error
            assert "approval_not_found" in result.content[0].text  # type: ignore[union-attr]
        else:
            with pytest.raises(MCPError, match="approve_request is an approve tool and needs role operator"):
                await client.call_tool("approve_request", unknown)
        if "rotate_everything" in visible:
            assert (await ok(client, "rotate_everything"))["done"] == "rotated"


async def test_the_audit_record_of_a_call_names_its_caller_and_credential(stack: Stack) -> None:
    async with client_as(stack, Role.AGENT) as client:
        await ok(client, "create_wallet", currency="USD", name="audited")
        [record] = (await ok(client, "get_audit_log"))["records"]
    assert (record["principal"], record["credential"], record["tool"]) == ("test:agent", "cred-agent", "create_wallet")
