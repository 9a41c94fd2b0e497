"""generate_compliance_report on both databases: a hand-built period (a large funding, structuring, a resolved flag,
a screening review, an erasure, a blocked card-testing burst) is reported exactly, in the structure and in the CSV;
an empty period reports zeros and a valid chain."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from mcp.client import Client
from mcp.types import EmbeddedResource, TextResourceContents

from mcp_payments.domain.roles import Role
from tests.compliance_flags.conftest import AGENT, ON_THE_LIST, OPERATOR, client_as, flags, fund, transfer, wallet
from tests.conftest import Stack
from tests.helpers import ok, seal
from tests.payments.agent import Agent
from tests.risk.test_fraud_scoring import probe

pytestmark = pytest.mark.anyio


async def report(client: Client, **arguments: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The structured report and the CSV's rows, read from the embedded text/csv resource."""
    result = await client.call_tool("generate_compliance_report", arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    [embedded] = [c for c in result.content if isinstance(c, EmbeddedResource)]
    assert isinstance(embedded.resource, TextResourceContents)
    assert embedded.resource.mime_type == "text/csv"
    assert str(embedded.resource.uri) == result.structured_content["csv_uri"]
    return result.structured_content, list(csv.DictReader(io.StringIO(embedded.resource.text)))


def counted(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], int]:
    return {tuple(r["key"]): r["count"] for r in rows}


async def test_a_hand_built_period_is_reported_exactly_in_the_structure_and_the_csv(clocked_stack: Stack) -> None:
    clock = clocked_stack.clock
    assert clock is not None
    start = clock.now()
    async with (
        client_as(clocked_stack, AGENT, Role.ADMIN) as admin,
        client_as(clocked_stack, OPERATOR, Role.OPERATOR) as operator,
    ):
        source, destination = await wallet(admin, "operating"), await wallet(admin, "supplier")
        await fund(admin, source, "40000.00")  # large; and 3 x 9,500.00 out of it is under the pass-through share
        moved = []
        for _ in range(3):
            clock.advance(hours=3)
            moved.append((await transfer(admin, source, destination, "9500.00"))["transaction"]["id"])
        structuring = await flags(admin, rule="structuring")
        resolved = next(f for f in structuring if f["subject"] == source)
        await ok(operator, "resolve_compliance_flag", flag_id=resolved["id"], disposition="legitimate", note="payroll")
        screened = await ok(admin, "screen_party", name=ON_THE_LIST, type="person")
        customer = (await ok(admin, "create_customer", name="Ada Lovelace"))["customer"]["id"]
        await ok(admin, "erase_customer_data", customer_id=customer)
        card = Agent(admin)
        outcomes = [(await probe(card, n))[0] for n in range(6)]
        clock.advance(minutes=1)
        end = clock.now()

        out, rows = await report(operator, from_time=start.isoformat(), to_time=end.isoformat())

    assert screened["decision"] == "review"
    assert outcomes == ["card_declined"] * 4 + ["pending_approval", "risk_blocked"]
    large = out["large_transactions"]
    assert (large["threshold_usd"], large["count"]) == ("10000.00", 1)
    assert [(f["subject"], f["amount_usd"]) for f in large["items"]] == [(source, "40000.00")]
    assert counted(out["flags"]["by_rule_status_disposition"]) == {
        ("large_transaction", "open", ""): 1,
        ("structuring", "open", ""): 1,
        ("structuring", "resolved", "legitimate"): 1,
    }
    assert out["flags"]["total"] == len(out["flags"]["items"]) == 3
    assert [f["id"] for f in out["flags"]["items"] if f["status"] == "resolved"] == [resolved["id"]]
    # The supplier wallet (a payee not seen before) and the new customer are screened clear; screen_party's review.
    assert counted(out["screenings"]["by_decision"]) == {("clear",): 2, ("review",): 1}
    assert [k["count"] for k in out["screenings"]["by_list_version"]] == [3]
    assert out["screenings"]["total"] == 3
    assert out["erasures"]["count"] == 1
    assert [e["customer_id"] for e in out["erasures"]["items"]] == [customer]
    assert counted(out["fraud_alerts"]["by_decision"]) == {("allow",): 4, ("review",): 1, ("block",): 1}
    assert out["fraud_alerts"]["total"] == 6
    chain = out["audit_chain"]
    assert chain["valid"] is True
    assert chain["records_checked"] == chain["head_seq"]

    # The CSV an auditor opens says the same.
    summary = {r["item"]: r["count"] for r in rows if r["section"] == "summary"}
    assert summary == {
        "period": "",
        "large_transactions": "1",
        "flags": "3",
        "screenings": "3",
        "erasures": "1",
        "fraud_assessments": "6",
    }
    sections: dict[str, int] = {}
    for r in rows:
        sections[r["section"]] = sections.get(r["section"], 0) + 1
    assert sections == {
        "summary": 6,
        "large_transaction": 1,
        "flag_count": 3,
        "flag": 3,
        "screening_decision": 2,
        "screening_list": 1,
        "erasure": 1,
        "fraud_decision": 3,
        "audit_chain": 2,
    }
    assert {
        (r["rule"], r["status"], r["disposition"]): int(r["count"]) for r in rows if r["section"] == "flag_count"
    } == {
        ("large_transaction", "open", ""): 1,
        ("structuring", "open", ""): 1,
        ("structuring", "resolved", "legitimate"): 1,
    }
    assert {r["decision"]: int(r["count"]) for r in rows if r["section"] == "fraud_decision"} == {
        "allow": 4,
        "review": 1,
        "block": 1,
    }
    assert [r["id"] for r in rows if r["section"] == "erasure"] == [customer]
    assert not any("Ada" in value for r in rows for value in r.values()), "a report names no one"


async def test_a_period_with_nothing_in_it_reports_zeros_and_a_verified_chain(clocked_stack: Stack) -> None:
    async with client_as(clocked_stack, OPERATOR, Role.OPERATOR) as operator:
        out, rows = await report(operator, from_time="2020-01-01T00:00:00Z", to_time="2020-02-01T00:00:00+01:00")
    assert out["large_transactions"] == {"threshold_usd": "10000.00", "count": 0, "items": []}
    assert out["flags"] == {"total": 0, "by_rule_status_disposition": [], "items": []}
    assert out["screenings"] == {"total": 0, "by_decision": [], "by_list_version": []}
    assert out["erasures"] == {"count": 0, "items": []}
    assert out["fraud_alerts"] == {"total": 0, "by_decision": []}
    assert out["audit_chain"]["valid"] is True
    assert [r["section"] for r in rows] == ["summary"] * 6 + ["audit_chain"] * 2


async def test_lists_are_capped_at_limit_and_the_counts_stay_whole(clocked_stack: Stack) -> None:
    clock = clocked_stack.clock
    assert clock is not None
    start = clock.now()
    async with (
        client_as(clocked_stack, AGENT, Role.ADMIN) as admin,
        client_as(clocked_stack, OPERATOR, Role.OPERATOR) as operator,
    ):
        for name in ("a", "b", "c"):
            await fund(admin, await wallet(admin, name), "12000.00")
        end = clock.now() + timedelta(seconds=1)
        first, _ = await report(operator, from_time=start.isoformat(), to_time=end.isoformat())
        capped, rows = await report(operator, from_time=start.isoformat(), to_time=end.isoformat(), limit=2)
    assert capped["large_transactions"]["count"] == capped["flags"]["total"] == 3
    assert len(capped["large_transactions"]["items"]) == len(capped["flags"]["items"]) == 2
    assert capped["flags"]["items"] == first["flags"]["items"][:2], "oldest first, the same every time"
    assert len([r for r in rows if r["section"] == "large_transaction"]) == 2


async def test_the_reports_chain_resumes_from_the_last_verification_unless_asked_for_the_whole(
    clocked_stack: Stack,
) -> None:
    period = {"from_time": "2020-01-01T00:00:00Z", "to_time": "2020-02-01T00:00:00Z"}
    async with client_as(clocked_stack, OPERATOR, Role.OPERATOR) as operator:
        await wallet(operator, "reported")
        await seal(clocked_stack.services)
        before, _ = await report(operator, **period)
        verified = await ok(operator, "verify_audit_chain")
        resumed, _ = await report(operator, **period)
        whole, _ = await report(operator, **period, full_chain=True)

    assert before["audit_chain"]["mode"] == "full"
    assert resumed["audit_chain"]["mode"] == "from_checkpoint"
    assert resumed["audit_chain"]["verified_from_seq"] == verified["head_seq"] + 1
    assert resumed["audit_chain"]["records_checked"] == 0
    assert "shows only with full=true" in resumed["audit_chain"]["proves"]
    assert whole["audit_chain"]["mode"] == "full"
    assert whole["audit_chain"]["records_checked"] == whole["audit_chain"]["head_seq"] > 0
