"""Plans: a price every interval, listed a page at a time, fixed once a subscription uses it."""

import pytest

from tests.payments.agent import Agent
from tests.subscriptions.conftest import plan, subscribe

pytestmark = pytest.mark.anyio


async def test_a_plan_is_created_with_its_price_interval_and_trial(agent: Agent) -> None:
    created = await agent.ok(
        "create_plan", name="Yearly", currency="JPY", amount_minor=12000, interval="year", trial_days=14
    )
    p = created["plan"]
    assert p["id"].startswith("plan_")
    assert p["price"] == {"amount": "12000", "amount_minor": 12000, "currency": "JPY"}
    assert (p["interval"], p["interval_count"], p["trial_days"], p["used"]) == ("year", 1, 14, False)
    assert created["receipt"]["audit_id"].startswith("aud_")


async def test_plans_are_listed_oldest_first_a_page_at_a_time(agent: Agent) -> None:
    ids = [(await plan(agent, name=f"P{n}"))["id"] for n in range(3)]
    first = await agent.ok("list_plans", limit=2)
    rest = await agent.ok("list_plans", limit=2, cursor=first["next_cursor"])
    assert [p["id"] for p in first["plans"] + rest["plans"]] == ids
    assert rest["next_cursor"] is None


async def test_a_plan_is_marked_used_by_its_first_subscription_so_its_price_is_fixed(agent: Agent) -> None:
    p = await plan(agent)
    await subscribe(agent, p["id"])
    listed = (await agent.ok("list_plans"))["plans"]
    assert [(x["id"], x["used"], x["price"]["amount"]) for x in listed] == [(p["id"], True, "10.00")]
    tools = {t.name for t in (await agent.client.list_tools()).tools}
    assert not {t for t in tools if "plan" in t and t not in {"create_plan", "list_plans", "change_subscription_plan"}}


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"interval": "month", "interval_count": 13}, "invalid_argument"),
        ({"interval": "year", "interval_count": 2}, "invalid_argument"),
        ({"interval": "week", "interval_count": 53}, "invalid_argument"),
        ({"interval": "fortnight"}, "invalid_argument"),
        ({"interval": "month", "amount": "0"}, "invalid_amount"),
        ({"interval": "month", "amount": "1.001"}, "invalid_amount"),
        ({"interval": "month", "trial_days": 731}, "invalid_argument"),
    ],
)
async def test_a_plan_out_of_bounds_is_refused_with_a_clear_code(
    agent: Agent, fields: dict[str, object], code: str
) -> None:
    arguments = {"name": "Pro", "currency": "USD", "amount": "10.00", **fields}
    refused = await agent.err("create_plan", **arguments)
    assert refused["code"] == code
    assert (await agent.ok("list_plans"))["plans"] == []
