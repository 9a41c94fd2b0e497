"""The subscription tools' bad-input table: every row is refused with a clear code and writes nothing."""

from typing import Any

import pytest

from tests.conftest import Stack
from tests.payments.agent import Agent
from tests.server.rows import row_counter
from tests.server.test_bad_input import BAD, Case, assert_refusal
from tests.subscriptions.conftest import customer, plan, subscribe

pytestmark = pytest.mark.anyio

UNKNOWN_PLAN = "plan_00000000000000000000000000"
UNKNOWN_SUB = "sub_00000000000000000000000000"
UNKNOWN_INVOICE = "inv_00000000000000000000000000"
UNKNOWN_CUSTOMER = "cus_00000000000000000000000000"


def new_plan(**fields: Any) -> dict[str, Any]:
    return {"name": "Pro", "currency": "USD", "amount": "10.00", "interval": "month", **fields}


def new_sub(**fields: Any) -> dict[str, Any]:
    return {"customer_id": "$customer", "plan_id": "$plan", "payment_method": "pm_card_visa", **fields}


def change(**fields: Any) -> dict[str, Any]:
    return {"subscription_id": "$sub", "plan_id": "$other_plan", **fields}


def pause(**fields: Any) -> dict[str, Any]:
    return {"subscription_id": "$sub", "collection": "void", **fields}


TABLE: dict[str, Case] = {
    "plan-amount-is-a-float": Case("create_plan", new_plan(amount=None, amount_minor=9.5), BAD),
    "plan-amount-is-a-json-number": Case("create_plan", new_plan(amount=10.5), BAD),
    "plan-amount-zero": Case("create_plan", new_plan(amount="0"), "invalid_amount"),
    "plan-amount-negative": Case("create_plan", new_plan(amount="-1.00"), "invalid_amount"),
    "plan-amount-three-decimals": Case("create_plan", new_plan(amount="1.001"), "invalid_amount"),
    "plan-without-amount": Case("create_plan", new_plan(amount=None), "invalid_amount"),
    "plan-in-unknown-currency": Case("create_plan", new_plan(currency="XYZ"), "unknown_currency"),
    "plan-interval-unknown": Case("create_plan", new_plan(interval="fortnight"), BAD),
    "plan-interval-count-zero": Case("create_plan", new_plan(interval_count=0), BAD),
    "plan-interval-count-a-string": Case("create_plan", new_plan(interval_count="1"), BAD),
    "plan-longer-than-a-year": Case("create_plan", new_plan(interval_count=13), BAD),
    "plan-two-years": Case("create_plan", new_plan(interval="year", interval_count=2), BAD),
    "plan-trial-negative": Case("create_plan", new_plan(trial_days=-1), BAD),
    "plan-trial-too-long": Case("create_plan", new_plan(trial_days=731), BAD),
    "plan-name-empty": Case("create_plan", new_plan(name=""), BAD),
    "plan-name-with-nul": Case("create_plan", new_plan(name="a\u0000b"), BAD),
    "plan-name-10kb": Case("create_plan", new_plan(name="x" * 10_240), BAD),
    "plans-cursor-forged": Case("list_plans", {"cursor": "garbage"}, "invalid_cursor"),
    "sub-unknown-plan": Case("create_subscription", new_sub(plan_id=UNKNOWN_PLAN), "plan_not_found"),
    "sub-unknown-customer": Case("create_subscription", new_sub(customer_id=UNKNOWN_CUSTOMER), "customer_not_found"),
    "sub-unknown-card-token": Case(
        "create_subscription", new_sub(payment_method="pm_card_nope"), "unknown_payment_method"
    ),
    "sub-card-number-as-token": Case("create_subscription", new_sub(payment_method="4242424242424242"), BAD),
    "sub-plan-id-of-a-wallet": Case("create_subscription", new_sub(plan_id="wal_0000000000"), BAD),
    "sub-trial-negative": Case("create_subscription", new_sub(trial_days=-1), BAD),
    "sub-trial-a-float": Case("create_subscription", new_sub(trial_days=1.0), BAD),
    "sub-trial-too-long": Case("create_subscription", new_sub(trial_days=731), BAD),
    "sub-without-card": Case("create_subscription", new_sub(payment_method=None), BAD),
    "get-unknown-subscription": Case("get_subscription", {"subscription_id": UNKNOWN_SUB}, "subscription_not_found"),
    "get-subscription-bad-id": Case("get_subscription", {"subscription_id": "sub_../../x"}, BAD),
    "list-subscriptions-unknown-status": Case("list_subscriptions", {"status": "happy"}, BAD),
    "subscriptions-cursor-forged": Case("list_subscriptions", {"cursor": "garbage"}, "invalid_cursor"),
    "get-unknown-invoice": Case("get_invoice", {"invoice_id": UNKNOWN_INVOICE}, "invoice_not_found"),
    "pay-unknown-invoice": Case("pay_invoice", {"invoice_id": UNKNOWN_INVOICE}, "invoice_not_found"),
    "pay-invoice-bad-id": Case("pay_invoice", {"invoice_id": "pay_0000000000"}, BAD),
    "pay-paid-invoice": Case("pay_invoice", {"invoice_id": "$paid_invoice"}, "invalid_state"),
    "cancel-unknown-subscription": Case(
        "cancel_subscription", {"subscription_id": UNKNOWN_SUB}, "subscription_not_found"
    ),
    "cancel-at-period-end-a-string": Case(
        "cancel_subscription", {"subscription_id": "$sub", "at_period_end": "yes"}, BAD
    ),
    "cancel-at-period-end-a-number": Case("cancel_subscription", {"subscription_id": "$sub", "at_period_end": 1}, BAD),
    "resume-unknown-subscription": Case(
        "resume_subscription", {"subscription_id": UNKNOWN_SUB}, "subscription_not_found"
    ),
    "resume-without-a-scheduled-cancellation": Case(
        "resume_subscription", {"subscription_id": "$sub"}, "invalid_state"
    ),
    "preview-unknown-subscription": Case(
        "preview_upcoming_invoice", {"subscription_id": UNKNOWN_SUB}, "subscription_not_found"
    ),
    "preview-invoice-id": Case("preview_upcoming_invoice", {"subscription_id": UNKNOWN_INVOICE}, BAD),
    "invoices-cursor-forged": Case("list_invoices", {"cursor": "garbage"}, "invalid_cursor"),
    "invoices-limit-over-100": Case("list_invoices", {"limit": 101}, BAD),
    "change-to-the-same-plan": Case("change_subscription_plan", change(plan_id="$plan"), "invalid_argument"),
    "change-to-another-currency": Case("change_subscription_plan", change(plan_id="$eur_plan"), "invalid_argument"),
    "change-to-another-interval": Case("change_subscription_plan", change(plan_id="$yearly"), "invalid_argument"),
    "change-to-an-unknown-plan": Case("change_subscription_plan", change(plan_id=UNKNOWN_PLAN), "plan_not_found"),
    "change-an-unknown-subscription": Case(
        "change_subscription_plan", change(subscription_id=UNKNOWN_SUB), "subscription_not_found"
    ),
    "change-a-canceled-subscription": Case(
        "change_subscription_plan", change(subscription_id="$canceled"), "invalid_state"
    ),
    "change-behavior-unknown": Case("change_subscription_plan", change(proration_behavior="sometimes"), BAD),
    "change-plan-id-with-nul": Case("change_subscription_plan", change(plan_id="plan_0\u0000"), BAD),
    "change-without-plan": Case("change_subscription_plan", change(plan_id=None), BAD),
    "update-unknown-card-token": Case(
        "update_subscription",
        {"subscription_id": "$sub", "default_payment_method": "pm_card_nope"},
        "unknown_payment_method",
    ),
    "update-card-number-as-token": Case(
        "update_subscription", {"subscription_id": "$sub", "default_payment_method": "4000000000000341"}, BAD
    ),
    "update-a-canceled-subscription": Case(
        "update_subscription",
        {"subscription_id": "$canceled", "default_payment_method": "pm_card_visa"},
        "invalid_state",
    ),
    "pause-collection-unknown": Case("pause_subscription", pause(collection="later"), BAD),
    "pause-without-collection": Case("pause_subscription", pause(collection=None), BAD),
    "pause-resumes-in-the-past": Case(
        "pause_subscription", pause(resumes_at="2020-01-01T00:00:00Z"), "invalid_argument"
    ),
    "pause-resumes-without-zone": Case(
        "pause_subscription", pause(resumes_at="2026-03-01T00:00:00"), "invalid_argument"
    ),
    "pause-resumes-in-year-9999": Case(
        "pause_subscription", pause(resumes_at="9999-12-31T23:59:59+00:00"), "invalid_argument"
    ),
    "pause-resumes-at-garbage": Case("pause_subscription", pause(resumes_at="tomorrow\u0007"), "invalid_argument"),
    "pause-resumes-at-a-number": Case("pause_subscription", pause(resumes_at=1767225600), BAD),
    "pause-resumes-at-10kb": Case("pause_subscription", pause(resumes_at="2" * 10_240), BAD),
    "pause-a-canceled-subscription": Case("pause_subscription", pause(subscription_id="$canceled"), "invalid_state"),
    "cancel-prorate-a-string": Case("cancel_subscription", {"subscription_id": "$sub", "prorate": "true"}, BAD),
    "cancel-prorate-at-period-end": Case(
        "cancel_subscription", {"subscription_id": "$sub", "at_period_end": True, "prorate": True}, "invalid_argument"
    ),
}


async def test_bad_input_is_refused_with_a_clear_code_and_writes_nothing(
    agent: Agent, clocked_stack: Stack, subtests: pytest.Subtests
) -> None:
    names = {"$customer": await customer(agent), "$plan": (await plan(agent))["id"]}
    subscribed = await subscribe(agent, names["$plan"])
    names["$paid_invoice"], names["$sub"] = subscribed["invoice"]["id"], subscribed["subscription"]["id"]
    names["$other_plan"] = (await plan(agent, "20.00"))["id"]
    names["$eur_plan"] = (await plan(agent, currency="EUR"))["id"]
    names["$yearly"] = (await plan(agent, interval="year"))["id"]
    names["$canceled"] = (await subscribe(agent, names["$plan"]))["subscription"]["id"]
    await agent.ok("cancel_subscription", subscription_id=names["$canceled"])
    async with row_counter(clocked_stack.settings.db_url) as count:
        for name, case in TABLE.items():
            with subtests.test(name):
                arguments = {
                    k: names.get(v, v) if isinstance(v, str) else v for k, v in case.arguments.items() if v is not None
                }
                before = await count()
                result = await agent.call(case.tool, **arguments)
                assert result.is_error, f"{case.tool} accepted it: {result.structured_content}"
                assert_refusal(result.content[0].text, result.structured_content, case.code)  # type: ignore[union-attr]
                assert await count() == before, "a refused call wrote rows"
