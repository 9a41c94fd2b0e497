from typing import Any

import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from mcp_payments.catalog import toolsets
from mcp_payments.server.registry import Toolbox, annotations_for
from mcp_payments.services.commands import Kind
from tests.conftest import Stack
from tests.server.listing import deployment, last_box
from tests.server.rows import row_counter

pytestmark = pytest.mark.anyio


async def test_every_listed_tool_is_registered_through_the_toolbox_and_vice_versa() -> None:
    async with deployment() as (tools, specs):
        assert set(tools) == set(specs)
        assert {spec.kind for spec in specs.values()} >= {Kind.READ, Kind.MONEY}


async def test_annotations_are_derived_from_the_tool_classification() -> None:
    async with deployment() as (tools, specs):
        for name, spec in specs.items():
            annotations = tools[name].annotations
            assert annotations is not None, name
            assert annotations == annotations_for(spec.kind, destructive=spec.destructive), name
            assert annotations.open_world_hint is False, f"{name}: the sandbox provider is not the open world"
            if not spec.kind.mutating:  # a read, or an operator's read of everyone's records (oversee)
                assert annotations.read_only_hint is True, name
                assert annotations.destructive_hint is False, name
            else:
                assert annotations.read_only_hint is False, name


async def test_tools_that_take_money_out_of_an_account_are_marked_destructive() -> None:
    async with deployment() as (tools, specs):
        for name in ("withdraw_from_wallet", "transfer_funds", "capture_hold", "refund_payment", "create_payment"):
            if name in tools:
                assert specs[name].destructive, name
                assert tools[name].annotations is not None
                assert tools[name].annotations.destructive_hint is True, name


async def test_every_mutating_tool_takes_an_optional_idempotency_key() -> None:
    async with deployment() as (tools, specs):
        mutating = [name for name, spec in specs.items() if spec.kind.mutating]
        assert mutating
        for name in mutating:
            schema = tools[name].input_schema
            assert "idempotency_key" in schema["properties"], name
            assert "idempotency_key" not in schema.get("required", []), name
            assert tools[name].annotations is not None
            assert tools[name].annotations.idempotent_hint is True, name


async def test_read_only_mode_lists_exactly_the_read_tools() -> None:
    async with deployment() as (_, full), deployment(read_only=True) as (tools, specs):
        assert set(tools) == {name for name, spec in full.items() if not spec.kind.mutating}
        assert all(not spec.kind.mutating for spec in specs.values())
        assert all(t.annotations is not None and t.annotations.read_only_hint for t in tools.values())


@pytest.mark.parametrize("toolset", toolsets())
async def test_a_single_toolset_lists_only_its_own_tools(toolset: str) -> None:
    async with deployment() as (_, full), deployment(toolsets=frozenset({toolset})) as (tools, _):
        assert set(tools) == {name for name, spec in full.items() if spec.toolset == toolset}
        assert tools, f"toolset {toolset} lists nothing"


async def test_toolsets_combine_with_read_only_mode() -> None:
    chosen = frozenset({"payments", "wallets"})
    async with deployment() as (_, full), deployment(toolsets=chosen, read_only=True) as (tools, _):
        assert set(tools) == {name for name, spec in full.items() if spec.toolset in chosen and not spec.kind.mutating}


@pytest.mark.parametrize("settings_overrides", [{"read_only": True}])
async def test_a_mutating_tool_called_on_a_read_only_server_is_refused_and_writes_nothing(
    stack: Stack, client: Client, settings_overrides: dict[str, Any]
) -> None:
    async with deployment() as (_, full):
        mutating = sorted(name for name, spec in full.items() if spec.kind.mutating)
    async with row_counter(stack.settings.db_url) as count:
        before = await count()
        for name in mutating:
            # A permission failure is a protocol error (DESIGN §3), and it says why.
            with pytest.raises(MCPError, match="read-only mode"):
                await client.call_tool(name, {"currency": "USD", "amount": "1.00"})
        assert await count() == before


async def test_every_mutating_tool_is_dispatched_as_a_command_and_no_read_tool_is() -> None:
    """The path a call takes (idempotency and the audit chain, or a read-only unit of work) follows from the
    tool's registration and kind: a handler exists exactly for the write and money tools."""
    async with deployment() as (_, specs):
        dispatcher = last_box().dispatcher
        assert set(dispatcher.handlers) == {name for name, spec in specs.items() if spec.kind.mutating}
        assert all(dispatcher.kind_of(name) is spec.kind for name, spec in specs.items() if spec.kind.mutating)


def test_a_tool_cannot_be_registered_on_the_path_of_another_kind() -> None:
    box = Toolbox.__new__(Toolbox)
    with pytest.raises(ValueError, match="registered with query"):
        box.command(kind=Kind.READ, toolset="wallets", title="x")
    # query() takes no kind at all: whatever it registers is READ, run in a read-only unit of work.
