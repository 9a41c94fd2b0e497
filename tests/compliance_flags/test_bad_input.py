"""The flag tools' bad-input table: every row is refused with a clear code and writes nothing."""

from typing import Any

import pytest

from mcp_payments.domain.roles import Role
from tests.compliance_flags.conftest import OPERATOR, client_as, flags, fund, wallet
from tests.conftest import Stack
from tests.server.rows import row_counter
from tests.server.test_bad_input import BAD, Case, assert_refusal

pytestmark = pytest.mark.anyio
UNKNOWN = "flg_01M8QT57B3E5VPPE7C5V44CD42"


def resolution(**fields: Any) -> dict[str, Any]:
    return {"flag_id": "$flag", "disposition": "false_positive", "note": "checked the invoices", **fields}


def payout(**fields: Any) -> dict[str, Any]:
    return {"wallet_id": "$wallet", "currency": "USD", "amount": "1.00", "payee_name": "Ada Lovelace", **fields}


TABLE: dict[str, Case] = {
    "payout-payee-name-empty": Case("withdraw_from_wallet", payout(payee_name=""), BAD),
    "payout-payee-name-201-chars": Case("withdraw_from_wallet", payout(payee_name="x" * 201), BAD),
    "payout-payee-name-with-nul": Case("withdraw_from_wallet", payout(payee_name="Ada\u0000Lovelace"), BAD),
    "payout-payee-name-with-escape": Case("withdraw_from_wallet", payout(payee_name="Ada \u001b[31m"), BAD),
    "payout-payee-name-a-number": Case("withdraw_from_wallet", payout(payee_name=42), BAD),
    "payout-payee-name-a-list": Case("withdraw_from_wallet", payout(payee_name=["Ada"]), BAD),
    "list-status-unknown": Case("list_compliance_flags", {"status": "closed"}, BAD),
    "list-status-in-capitals": Case("list_compliance_flags", {"status": "OPEN"}, BAD),
    "list-rule-unknown": Case("list_compliance_flags", {"rule": "smurfing"}, BAD),
    "list-since-not-a-time": Case("list_compliance_flags", {"since": "yesterday"}, BAD),
    "list-since-without-zone": Case("list_compliance_flags", {"since": "2026-01-01T00:00:00"}, BAD),
    "list-since-a-number": Case("list_compliance_flags", {"since": 1767225600}, BAD),
    "list-since-month-13": Case("list_compliance_flags", {"since": "2026-13-01T00:00:00Z"}, BAD),
    "list-limit-0": Case("list_compliance_flags", {"limit": 0}, BAD),
    "list-limit-101": Case("list_compliance_flags", {"limit": 101}, BAD),
    "list-limit-a-string": Case("list_compliance_flags", {"limit": "20"}, BAD),
    "list-cursor-forged": Case("list_compliance_flags", {"cursor": "flg_01M8QT57B3E5VPPE7C5V44CD42"}, "invalid_cursor"),
    "list-unknown-argument": Case("list_compliance_flags", {"wallet_id": "wal_1"}, BAD),
    "resolve-flag-id-missing": Case("resolve_compliance_flag", {"disposition": "legitimate", "note": "n"}, BAD),
    "resolve-flag-id-malformed": Case("resolve_compliance_flag", resolution(flag_id="flg_1"), BAD),
    "resolve-flag-id-of-a-wallet": Case(
        "resolve_compliance_flag", resolution(flag_id="wal_01M8QT57B3E5VPPE7C5V44CD42"), BAD
    ),
    "resolve-flag-unknown": Case("resolve_compliance_flag", resolution(flag_id=UNKNOWN), "compliance_flag_not_found"),
    "resolve-disposition-unknown": Case("resolve_compliance_flag", resolution(disposition="closed"), BAD),
    "resolve-disposition-missing": Case("resolve_compliance_flag", {"flag_id": "$flag", "note": "n"}, BAD),
    "resolve-note-missing": Case("resolve_compliance_flag", {"flag_id": "$flag", "disposition": "legitimate"}, BAD),
    "resolve-note-empty": Case("resolve_compliance_flag", resolution(note=""), BAD),
    "resolve-note-1001-chars": Case("resolve_compliance_flag", resolution(note="x" * 1001), BAD),
    "resolve-note-with-nul": Case("resolve_compliance_flag", resolution(note="ok\u0000"), BAD),
    "resolve-note-with-bidi-override": Case("resolve_compliance_flag", resolution(note="ok \u202e"), BAD),
    "resolve-unknown-argument": Case("resolve_compliance_flag", resolution(reason="x"), BAD),
    "resolve-idempotency-key-too-short": Case("resolve_compliance_flag", resolution(idempotency_key="k"), BAD),
}


async def test_bad_input_is_refused_with_a_clear_code_and_writes_nothing(
    clocked_stack: Stack, subtests: pytest.Subtests
) -> None:
    async with client_as(clocked_stack, "key:bot", Role.AGENT) as agent:
        big = await wallet(agent, "big")
        await fund(agent, big, "12000.00")
        [flag] = await flags(agent)
    ids = {"$flag": flag["id"], "$wallet": big}
    async with (
        client_as(clocked_stack, OPERATOR, Role.OPERATOR) as operator,
        row_counter(clocked_stack.settings.db_url) as count,
    ):
        for name, case in TABLE.items():
            with subtests.test(name):
                arguments = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in case.arguments.items()}
                before = await count()
                result = await operator.call_tool(case.tool, arguments)
                assert result.is_error, f"{case.tool} accepted it: {result.structured_content}"
                assert_refusal(result.content[0].text, result.structured_content, case.code)  # type: ignore[union-attr]
                assert await count() == before, "a refused call wrote rows"
