"""resolve_compliance_flag on both databases: an operator other than the flag's principal resolves it once, with a
disposition and a note, audited; list_compliance_flags filters and pages."""

import pytest

from mcp_payments.domain.roles import Role
from tests.compliance_flags.conftest import AGENT, OPERATOR, client_as, flags, fund, wallet
from tests.conftest import Stack
from tests.helpers import err, ok

pytestmark = pytest.mark.anyio


async def test_an_operator_resolves_an_agents_flag_once_with_a_disposition_and_it_is_audited(
    clocked_stack: Stack,
) -> None:
    async with (
        client_as(clocked_stack, AGENT, Role.AGENT) as agent,
        client_as(clocked_stack, OPERATOR, Role.OPERATOR) as operator,
    ):
        await fund(agent, await wallet(agent, "big"), "12000.00")
        [flag] = await flags(agent)

        resolved = await ok(
            operator, "resolve_compliance_flag", flag_id=flag["id"], disposition="legitimate", note="payroll top-up"
        )
        assert resolved["flag"]["status"] == "resolved"
        assert (resolved["flag"]["resolved_by"], resolved["flag"]["disposition"]) == (OPERATOR, "legitimate")
        assert resolved["flag"]["note"] == "payroll top-up"
        assert await flags(agent, status="open") == []
        assert [f["id"] for f in await flags(agent, status="resolved")] == [flag["id"]]

        again = await err(operator, "resolve_compliance_flag", flag_id=flag["id"], disposition="reported", note="x")
        assert again["code"] == "compliance_flag_resolved"
        records = (await ok(operator, "get_audit_log", limit=20))["records"]
        [record] = [r for r in records if r["tool"] == "resolve_compliance_flag" and r["outcome"] == "ok"]
        assert (record["principal"], record["entity_ids"]) == (OPERATOR, [flag["id"]])


async def test_the_principal_whose_call_raised_a_flag_cannot_resolve_it(clocked_stack: Stack) -> None:
    async with client_as(clocked_stack, OPERATOR, Role.OPERATOR) as operator:
        await fund(operator, await wallet(operator, "big"), "12000.00")
        [flag] = await flags(operator)
        refused = await err(
            operator, "resolve_compliance_flag", flag_id=flag["id"], disposition="false_positive", note="mine"
        )
        assert refused["code"] == "self_resolution"
        assert "another operator or admin" in refused["message"]
        assert (await flags(operator))[0]["status"] == "open"


async def test_an_unknown_flag_is_not_found(stack: Stack) -> None:
    async with client_as(stack, OPERATOR, Role.OPERATOR) as operator:
        refused = await err(
            operator,
            "resolve_compliance_flag",
            flag_id="flg_01M8QT57B3E5VPPE7C5V44CD42",
            disposition="escalated",
            note="?",
        )
        assert refused["code"] == "compliance_flag_not_found"


async def test_flags_are_listed_by_rule_and_time_a_page_at_a_time(clocked_stack: Stack) -> None:
    assert clocked_stack.clock is not None
    async with client_as(clocked_stack, AGENT, Role.AGENT) as agent:
        for n in range(3):
            await fund(agent, await wallet(agent, f"w{n}"), f"1500{n}.00")
            clocked_stack.clock.advance(hours=1)
        first = await ok(agent, "list_compliance_flags", rule="large_transaction", limit=2)
        assert len(first["flags"]) == 2
        rest = await ok(agent, "list_compliance_flags", rule="large_transaction", limit=2, cursor=first["next_cursor"])
        assert len(rest["flags"]) == 1
        assert rest["next_cursor"] is None
        amounts = [f["details"]["amount_usd"] for f in first["flags"] + rest["flags"]]
        assert amounts == ["15000.00", "15001.00", "15002.00"]
        late = await ok(agent, "list_compliance_flags", since="2026-01-01T01:30:00Z")
        assert [f["details"]["amount_usd"] for f in late["flags"]] == ["15002.00"]
        # A cursor pages the listing it came from.
        wrong = await err(agent, "list_compliance_flags", rule="structuring", cursor=first["next_cursor"])
        assert wrong["code"] == "invalid_cursor"
