"""generate_compliance_report's bad-input table (every row refused with a clear code, nothing written) and its
place in the role matrix: an operator's read of everyone's records, kept in read-only mode."""

import pytest
from mcp.shared.exceptions import MCPError

from mcp_payments.domain.roles import Role
from mcp_payments.services.commands import Kind
from tests.compliance_flags.conftest import client_as
from tests.conftest import Stack
from tests.server.listing import deployment, shown_to
from tests.server.rows import row_counter
from tests.server.test_bad_input import BAD, Case, assert_refusal

pytestmark = pytest.mark.anyio

TOOL = "generate_compliance_report"
RANGE = "invalid_range"
FROM, TO = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"

TABLE: dict[str, Case] = {
    "nothing": Case(TOOL, {}, BAD),
    "no-end": Case(TOOL, {"from_time": FROM}, BAD),
    "no-zone": Case(TOOL, {"from_time": "2026-01-01T00:00:00", "to_time": TO}, BAD),
    "a-date-only": Case(TOOL, {"from_time": "2026-01-01", "to_time": TO}, BAD),
    "epoch-seconds": Case(TOOL, {"from_time": 1767225600, "to_time": TO}, BAD),
    "words": Case(TOOL, {"from_time": "last month", "to_time": TO}, BAD),
    "month-13": Case(TOOL, {"from_time": "2026-13-01T00:00:00Z", "to_time": TO}, RANGE),
    "february-30": Case(TOOL, {"from_time": "2026-02-30T00:00:00Z", "to_time": "2026-03-30T00:00:00Z"}, RANGE),
    "inverted": Case(TOOL, {"from_time": TO, "to_time": FROM}, RANGE),
    "empty": Case(TOOL, {"from_time": FROM, "to_time": FROM}, RANGE),
    "same-instant-other-zone": Case(TOOL, {"from_time": FROM, "to_time": "2026-01-01T01:00:00+01:00"}, RANGE),
    "over-5-years": Case(TOOL, {"from_time": "2020-01-01T00:00:00Z", "to_time": "2025-01-04T00:00:00Z"}, RANGE),
    "time-10kb": Case(TOOL, {"from_time": "2026-01-01T00:00:00Z" + "0" * 10_240, "to_time": TO}, BAD),
    "limit-0": Case(TOOL, {"from_time": FROM, "to_time": TO, "limit": 0}, BAD),
    "limit-501": Case(TOOL, {"from_time": FROM, "to_time": TO, "limit": 501}, BAD),
    "limit-past-2**63": Case(TOOL, {"from_time": FROM, "to_time": TO, "limit": 2**63 + 1}, BAD),
    "a-control-character": Case(TOOL, {"from_time": "2026-01-01T00:00:00Z\x00", "to_time": TO}, BAD),
    "an-escape-sequence": Case(TOOL, {"from_time": FROM, "to_time": "2026-02-01T00:00:00\x1b[2JZ"}, BAD),
    "limit-a-string": Case(TOOL, {"from_time": FROM, "to_time": TO, "limit": "10"}, BAD),
    "limit-a-float": Case(TOOL, {"from_time": FROM, "to_time": TO, "limit": 1.5}, BAD),
    "an-unknown-argument": Case(TOOL, {"from_time": FROM, "to_time": TO, "customer_name": "Ada"}, BAD),
}


async def test_bad_input_is_refused_with_a_clear_code_and_writes_nothing(
    clocked_stack: Stack, subtests: pytest.Subtests
) -> None:
    async with (
        client_as(clocked_stack, "key:ops", Role.OPERATOR) as operator,
        row_counter(clocked_stack.settings.db_url) as count,
    ):
        for name, case in TABLE.items():
            with subtests.test(name):
                before = await count()
                result = await operator.call_tool(case.tool, case.arguments)
                assert result.is_error, f"{case.tool} accepted it: {result.structured_content}"
                assert_refusal(result.content[0].text, result.structured_content, case.code)  # type: ignore[union-attr]
                assert await count() == before, "a refused call wrote rows"


@pytest.mark.parametrize("role", list(Role))
async def test_only_an_operator_or_admin_is_shown_the_compliance_report(role: Role) -> None:
    async with deployment() as (tools, specs):
        assert (TOOL in shown_to(role, specs)) is (role in {Role.OPERATOR, Role.ADMIN})
        assert (specs[TOOL].kind, specs[TOOL].toolset) == (Kind.OVERSEE, "compliance")
        annotations = tools[TOOL].annotations
        assert annotations is not None
        assert (annotations.read_only_hint, annotations.destructive_hint) == (True, False)
    async with deployment(read_only=True) as (tools, _):
        assert TOOL in tools, "a read: a read-only server keeps it"


async def test_an_agent_calling_it_is_refused_as_a_protocol_error_naming_the_role(clocked_stack: Stack) -> None:
    async with client_as(clocked_stack, "key:bot", Role.AGENT) as agent:
        with pytest.raises(MCPError, match="is an oversee tool and needs role operator"):
            await agent.call_tool(TOOL, {"from_time": FROM, "to_time": TO})
