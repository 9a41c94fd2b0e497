"""The fraud tools' bad-input table (and create_customer's country): every row is refused with a clear code and
writes nothing."""

from typing import Any

import pytest
from mcp.client import Client

from tests.conftest import Stack
from tests.server.rows import row_counter
from tests.server.test_bad_input import AMOUNT, BAD, UNKNOWN_CUSTOMER, Case, assert_refusal, cursor_of

pytestmark = pytest.mark.anyio


def assess(**fields: Any) -> dict[str, Any]:
    return {"currency": "USD", "amount": "10.00", "payment_method": "pm_card_visa", **fields}


def without(arguments: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in arguments.items() if k != name}


UNKNOWN_METHOD = "unknown_payment_method"
TABLE: dict[str, Case] = {
    "assess-currency-missing": Case("assess_payment_risk", without(assess(), "currency"), BAD),
    "assess-currency-unknown": Case("assess_payment_risk", assess(currency="XYZ"), "unknown_currency"),
    "assess-amount-missing": Case("assess_payment_risk", without(assess(), "amount"), AMOUNT),
    "assess-amount-and-minor": Case("assess_payment_risk", assess(amount_minor=1000), AMOUNT),
    "assess-amount-a-json-number": Case("assess_payment_risk", assess(amount=10.5), BAD),
    "assess-amount-too-many-decimals": Case("assess_payment_risk", assess(amount="10.001"), AMOUNT),
    "assess-amount-zero": Case("assess_payment_risk", assess(amount="0.00"), AMOUNT),
    "assess-amount-negative": Case("assess_payment_risk", assess(amount="-5.00"), AMOUNT),
    "assess-amount-minor-a-float": Case("assess_payment_risk", assess(amount=None, amount_minor=10.5), BAD),
    "assess-method-missing": Case("assess_payment_risk", without(assess(), "payment_method"), BAD),
    "assess-method-a-card-number": Case("assess_payment_risk", assess(payment_method="4242424242424242"), BAD),
    "assess-method-unknown": Case(
        "assess_payment_risk", assess(payment_method="pm_card_nope"), "unknown_payment_method"
    ),
    "assess-method-with-nul": Case("assess_payment_risk", assess(payment_method="pm_card\u0000visa"), BAD),
    "assess-customer-malformed": Case("assess_payment_risk", assess(customer_id="customer-1"), BAD),
    "assess-customer-unknown": Case("assess_payment_risk", assess(customer_id=UNKNOWN_CUSTOMER), "customer_not_found"),
    "assess-unknown-argument": Case("assess_payment_risk", assess(card_number="4242424242424242"), BAD),
    "alerts-decision-unknown": Case("list_fraud_alerts", {"decision": "allow"}, BAD),
    "alerts-decision-in-capitals": Case("list_fraud_alerts", {"decision": "BLOCK"}, BAD),
    "alerts-limit-zero": Case("list_fraud_alerts", {"limit": 0}, BAD),
    "alerts-limit-101": Case("list_fraud_alerts", {"limit": 101}, BAD),
    "alerts-limit-a-string": Case("list_fraud_alerts", {"limit": "ten"}, BAD),
    "alerts-cursor-forged": Case("list_fraud_alerts", {"cursor": cursor_of("rsk_0")}, "invalid_cursor"),
    "alerts-cursor-garbage": Case("list_fraud_alerts", {"cursor": "not-a-cursor"}, "invalid_cursor"),
    "customer-country-unassigned": Case("create_customer", {"name": "Ann", "country": "XX"}, BAD),
    "customer-country-alpha-3": Case("create_customer", {"name": "Ann", "country": "USA"}, BAD),
    "customer-country-a-number": Case("create_customer", {"name": "Ann", "country": 12}, BAD),
}


async def test_bad_input_is_refused_with_a_clear_code_and_writes_nothing(
    client: Client, stack: Stack, subtests: pytest.Subtests
) -> None:
    async with row_counter(stack.settings.db_url) as count:
        for name, case in TABLE.items():
            with subtests.test(name):
                before = await count()
                arguments = {k: v for k, v in case.arguments.items() if v is not None}
                result = await client.call_tool(case.tool, arguments)
                assert result.is_error, f"{case.tool} accepted it: {result.structured_content}"
                assert_refusal(result.content[0].text, result.structured_content, case.code)  # type: ignore[union-attr]
                assert await count() == before, "a refused call wrote rows"


async def test_a_cursor_of_the_held_alerts_is_refused_for_the_blocked_ones(client: Client) -> None:
    for n in range(7):  # 4 declines, a hold, two refusals: more than a page of one
        await client.call_tool(
            "create_payment",
            {
                "currency": "USD",
                "amount": "1.00",
                "payment_method": "pm_card_chargeDeclined",
                "idempotency_key": f"card-probe-{n:04d}",
            },
        )
    blocked = (await client.call_tool("list_fraud_alerts", {"decision": "block", "limit": 1})).structured_content
    assert blocked is not None
    assert blocked["next_cursor"] is not None

    result = await client.call_tool("list_fraud_alerts", {"decision": "review", "cursor": blocked["next_cursor"]})

    assert result.is_error
    assert_refusal(result.content[0].text, result.structured_content, "invalid_cursor")  # type: ignore[union-attr]
