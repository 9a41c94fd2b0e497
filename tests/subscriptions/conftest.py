"""Subscriptions are driven like payments: a real MCP client on the clocked application, and every scenario ends
with a sound ledger and no card number anywhere (the payments fixtures)."""

import itertools
from typing import Any

from mcp_payments.bootstrap import sweep_once
from tests.conftest import FakeClock, Stack
from tests.payments.agent import Agent
from tests.payments.conftest import agent, logs, settings_overrides

__all__ = ["agent", "logs", "settings_overrides"]


async def settle(stack: Stack) -> int:
    """Passes of the due work until none is left (a subscription renews one period per pass); items done."""
    done = 0
    while moved := await sweep_once(stack.services):
        done += moved
    return done


def clock_of(stack: Stack) -> FakeClock:
    assert stack.clock is not None
    return stack.clock


_customers = itertools.count(1)


async def customer(agent: Agent) -> str:
    """A new customer (identical calls would be deduplicated into one)."""
    n = next(_customers)
    return str((await agent.ok("create_customer", email=f"c{n}@example.com", name=f"Customer {n}"))["customer"]["id"])


async def plan(agent: Agent, amount: str = "10.00", **fields: Any) -> dict[str, Any]:
    arguments = {"name": "Pro", "currency": "USD", "amount": amount, "interval": "month", **fields}
    return dict((await agent.ok("create_plan", **arguments))["plan"])


async def subscribe(agent: Agent, plan_id: str, method: str = "pm_card_visa", **fields: Any) -> dict[str, Any]:
    cus = await customer(agent)
    return await agent.ok("create_subscription", customer_id=cus, plan_id=plan_id, payment_method=method, **fields)
